// server: accept loops and admission.
#include "smtp/server.hpp"

#include "mail/replies.hpp"
#include "smtp/asio_tokens.hpp"
#include "smtp/session.hpp"

#include <fmt/format.h>

namespace backstop::smtp {

namespace {

// A refused connection gets its 421 and is closed; no session, no reading.
asio::awaitable<void> refuse(asio::ip::tcp::socket socket, mail::Reply reply) {
  const std::string text = reply.wire(true); // 421 4.7.0, as Postfix and the docs say
  co_await asio::async_write(socket, asio::buffer(text), use_tuple);
  std::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

std::string peer_ip(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) {
    return "unknown";
  }
  auto addr = remote.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
  }
  return addr.to_string();
}
} // namespace

Server::Server(const SessionOptions& options, ConnectionLimiter& limiter,
               std::vector<asio::io_context*> loops)
    : options_(options), limiter_(limiter), loops_(std::move(loops)) {
  const auto started = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  id_prefix_ = fmt::format("{:x}.", started.count());
}

mail::Status Server::listen(const std::vector<asio::ip::tcp::endpoint>& endpoints) {
  for (const auto& endpoint : endpoints) {
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(*loops_.front());
    std::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec && endpoint.address().is_v6()) {
      acceptor->set_option(asio::ip::v6_only(true), ec);
    }
    if (!ec) {
      acceptor->bind(endpoint, ec);
    }
    if (!ec) {
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      std::ostringstream where;
      where << endpoint;
      return mail::make_error("cannot listen on " + where.str() + ": " + ec.message());
    }
    acceptors_.push_back(std::move(acceptor));
  }
  for (auto& acceptor : acceptors_) {
    asio::co_spawn(*loops_.front(), accept_loop(*acceptor), asio::detached);
  }
  return mail::Ok{};
}

std::vector<asio::ip::tcp::endpoint> Server::bound() const {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& a : acceptors_) {
    std::error_code ec;
    out.push_back(a->local_endpoint(ec));
  }
  return out;
}

void Server::stop() {
  for (auto& a : acceptors_) {
    std::error_code ignored;
    a->close(ignored);
  }
}

asio::awaitable<void> Server::accept_loop(asio::ip::tcp::acceptor& acceptor) {
  asio::steady_timer backoff(acceptor.get_executor());
  while (acceptor.is_open()) {
    auto& loop = *loops_[next_loop_++ % loops_.size()];
    auto [ec, socket] = co_await acceptor.async_accept(loop, use_tuple);
    if (ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      // EMFILE/ENFILE and friends: wait instead of spinning; established sessions go on.
      if (options_.log) {
        options_.log->warn("accept failed: {}", ec.message());
      }
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    start_session(std::move(socket));
  }
}

void Server::start_session(asio::ip::tcp::socket socket) {
  const std::string ip = peer_ip(socket);
  Admission admission;
  const auto admitted = limiter_.admit(ip, admission);
  auto executor = socket.get_executor();
  if (admitted != AdmitResult::Admitted) {
    metrics::count(options_.counters, metrics::Counter::ConnectionsRefused);
    if (options_.log) {
      options_.log->warn("refused connection from [{}]: {}", ip,
                         admitted == AdmitResult::TooManyTotal ? "max_connections reached"
                                                               : "max_connections_per_ip");
    }
    asio::co_spawn(executor,
                   refuse(std::move(socket), admitted == AdmitResult::TooManyTotal
                                                 ? mail::replies::too_many_connections
                                                 : mail::replies::too_many_from_ip),
                   asio::detached);
    return;
  }
  metrics::count(options_.counters, metrics::Counter::ConnectionsAccepted);
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  std::string id = id_prefix_ + std::to_string(++sessions_started_);
  auto session =
      std::make_shared<Session>(options_, std::move(socket), std::move(admission), std::move(id));
  asio::co_spawn(executor, Session::run(std::move(session)),
                 [ip, log = options_.log](std::exception_ptr e) {
                   if (!e || !log) {
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     log->error("session with [{}] ended by an exception: {}", ip, ex.what());
                   }
                 });
}

} // namespace backstop::smtp
