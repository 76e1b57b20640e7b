// server: accept loops and admission.
#include "smtp/server.hpp"

#include "mail/cidr.hpp"
#include "mail/ip_address.hpp"
#include "mail/replies.hpp"
#include "smtp/asio_tokens.hpp"
#include "smtp/session.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <sstream>

namespace backstop::smtp {

namespace {

// A refused connection gets its 421 and is closed; no session, no reading.
asio::awaitable<void> refuse(asio::ip::tcp::socket socket, mail::Reply reply) {
  const std::string text = reply.wire(true); // 421 4.7.0, as Postfix and the docs say
  co_await asio::async_write(socket, asio::buffer(text), use_tuple);
  std::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

const char* refusal_reason(AdmitResult result) {
  switch (result) {
  case AdmitResult::TooManyTotal:
    return "max_connections reached";
  case AdmitResult::TooManyFromNetwork:
    return "max_connections_per_network";
  default:
    return "max_connections_per_ip";
  }
}

const mail::Reply& refusal_reply(AdmitResult result) {
  switch (result) {
  case AdmitResult::TooManyTotal:
    return mail::replies::too_many_connections;
  case AdmitResult::TooManyFromNetwork:
    return mail::replies::too_many_from_network;
  default:
    return mail::replies::too_many_from_ip;
  }
}

} // namespace

Server::Server(const SessionOptions& options, ConnectionLimiter& limiter,
               std::vector<asio::io_context*> loops)
    : options_(options), limiter_(limiter), loops_(std::move(loops)), sessions_(loops_.size()) {
  const auto started = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  id_prefix_ = fmt::format("{:x}.", started.count());
}

namespace {
std::string where(const asio::ip::tcp::endpoint& endpoint) {
  std::ostringstream text;
  text << endpoint;
  return text.str();
}

// Opens acceptor and binds it to endpoint. shared: with SO_REUSEPORT, so that every loop
// can bind a socket of the same address, and TCP_NODELAY for the sockets it accepts.
std::error_code bind_to(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint,
                        bool shared) {
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec && shared) {
    acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  }
  if (!ec && shared) {
    acceptor.set_option(asio::ip::tcp::no_delay(true), ec); // accepted sockets inherit it
  }
  if (!ec && endpoint.address().is_v6()) {
    acceptor.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  return ec;
}

// Binds endpoint once without SO_REUSEPORT: fails while anyone else listens there (so a
// second server never silently shares our port), and turns port 0 into a real port.
mail::Result<asio::ip::tcp::endpoint> claim(asio::io_context& loop,
                                            const asio::ip::tcp::endpoint& endpoint) {
  asio::ip::tcp::acceptor probe(loop);
  auto ec = bind_to(probe, endpoint, false);
  auto bound = ec ? endpoint : probe.local_endpoint(ec);
  if (ec) {
    return mail::make_error("cannot listen on " + where(endpoint) + ": " + ec.message());
  }
  return bound;
}
} // namespace

mail::Status Server::open_acceptor(std::size_t loop, const asio::ip::tcp::endpoint& endpoint,
                                   const Listener& listener) {
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(*loops_[loop]);
  auto ec = bind_to(*acceptor, endpoint, true);
  if (!ec) {
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return mail::make_error("cannot listen on " + where(endpoint) + ": " + ec.message());
  }
  acceptors_.push_back({std::move(acceptor), loop, &listener});
  return mail::Ok{};
}

mail::Status Server::listen(const std::vector<asio::ip::tcp::endpoint>& endpoints) {
  std::vector<Listener> listeners;
  for (const auto& e : endpoints) {
    listeners.push_back({e, nullptr, {}, nullptr, {}});
  }
  return listen(listeners);
}

mail::Status Server::listen(const std::vector<Listener>& listeners) {
  const std::size_t first_new = acceptors_.size();
  for (const auto& requested : listeners) {
    auto endpoint = claim(*loops_.front(), requested.endpoint);
    if (!endpoint) {
      return endpoint.error();
    }
    listeners_.push_back(std::make_unique<Listener>(requested));
    listeners_.back()->endpoint = endpoint.value();
    for (std::size_t loop = 0; loop < loops_.size(); ++loop) {
      if (auto opened = open_acceptor(loop, endpoint.value(), *listeners_.back()); !opened) {
        return opened;
      }
    }
  }
  for (std::size_t i = first_new; i < acceptors_.size(); ++i) {
    asio::co_spawn(acceptors_[i].socket->get_executor(), accept_loop(acceptors_[i]),
                   asio::detached);
  }
  return mail::Ok{};
}

std::vector<asio::ip::tcp::endpoint> Server::bound() const {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& a : acceptors_) {
    std::error_code ec;
    auto endpoint = a.socket->local_endpoint(ec);
    if (std::find(out.begin(), out.end(), endpoint) == out.end()) {
      out.push_back(endpoint); // each loop has a socket of it
    }
  }
  return out;
}

// An acceptor belongs to its loop: it is closed there, not from the caller's thread.
void Server::stop() {
  for (auto& a : acceptors_) {
    asio::post(a.socket->get_executor(), [acceptor = a.socket.get()] {
      std::error_code ignored;
      acceptor->close(ignored);
    });
  }
}

void Server::drain() {
  draining_ = true;
  stop();
  for (std::size_t loop = 0; loop < loops_.size(); ++loop) {
    asio::post(*loops_[loop], [this, loop] {
      for (const auto& [key, weak] : sessions_[loop]) {
        if (auto session = weak.lock()) {
          session->stop_soon();
        }
      }
    });
  }
}

void Server::session_ended(std::size_t loop, const Session* session) {
  sessions_[loop].erase(session);
  --open_sessions_;
}

asio::awaitable<void> Server::accept_loop(Acceptor& entry) {
  asio::ip::tcp::acceptor& acceptor = *entry.socket;
  const Listener& kind = *entry.listener;
  asio::steady_timer backoff(acceptor.get_executor());
  std::error_code ignored;
  const auto listener = acceptor.local_endpoint(ignored);
  // A wildcard listener learns each connection's own address; a specific one knows it.
  const bool wildcard = listener.address().is_unspecified();
  while (acceptor.is_open()) {
    Peers peers{{}, listener};
    auto [ec, socket] = co_await acceptor.async_accept(peers.remote, use_tuple);
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
    if (wildcard) {
      peers.local = socket.local_endpoint(ignored);
    }
    if (kind.count != nullptr) {
      kind.count->accepted();
    }
    if (kind.proxy) {
      asio::co_spawn(acceptor.get_executor(), admit_proxied(entry, std::move(socket), peers),
                     asio::detached);
      continue;
    }
    hand_over(entry, std::move(socket), peers);
  }
}

void Server::hand_over(const Acceptor& entry, asio::ip::tcp::socket socket, const Peers& peers) {
  const Listener& kind = *entry.listener;
  if (kind.handler != nullptr) {
    kind.handler->start(entry.loop, std::move(socket), peers);
    return;
  }
  if (kind.on_accept) {
    kind.on_accept(peers);
  }
  start_session(entry.loop, std::move(socket), peers);
}

// Closed without a banner: whoever is there is not a proxy we trust, or not a working one.
void Server::drop_proxied(asio::ip::tcp::socket& socket, const Peers& peers,
                          const std::string& why) {
  metrics::count(options_.counters, metrics::Counter::ProxyRefused);
  if (options_.log) {
    options_.log->warn("proxy listener {}: closed the connection from [{}]: {}", where(peers.local),
                       mail::unmapped(peers.remote.address()).to_string(), why);
  }
  std::error_code ignored;
  socket.close(ignored);
}

asio::awaitable<void> Server::admit_proxied(const Acceptor& entry, asio::ip::tcp::socket socket,
                                            Peers peers) {
  const ProxySettings& proxy = *entry.listener->proxy;
  const std::string proxy_ip = mail::unmapped(peers.remote.address()).to_string();
  if (!mail::any_contains(proxy.trusted, proxy_ip)) {
    drop_proxied(socket, peers, "not a trusted proxy (trusted_proxies)");
    co_return;
  }
  auto header = co_await read_proxy_header(socket, proxy.timeout);
  if (!header) {
    drop_proxied(socket, peers, header.error().message);
    co_return;
  }
  if (header->has_client) {
    peers.remote = header->source;
  }
  if (options_.log) {
    options_.log->debug("proxy [{}] (v{}) on {}: client [{}]{}", proxy_ip, header->version,
                        where(peers.local), mail::unmapped(peers.remote.address()).to_string(),
                        header->has_client ? "" : " (the proxy itself: LOCAL or UNKNOWN)");
  }
  hand_over(entry, std::move(socket), peers);
}

void Server::start_session(std::size_t loop, asio::ip::tcp::socket socket, const Peers& peers) {
  const std::string ip = mail::address_text(mail::unmapped(peers.remote.address()));
  if (draining_) { // accepted just before the listener closed
    const auto reply = mail::replies::shutting_down.with_text(options_.hostname + " shutting down");
    asio::co_spawn(socket.get_executor(), refuse(std::move(socket), reply), asio::detached);
    return;
  }
  Admission admission;
  const auto admitted = limiter_.admit(ip, admission);
  auto executor = socket.get_executor();
  if (admitted != AdmitResult::Admitted) {
    metrics::count(options_.counters, metrics::Counter::ConnectionsRefused);
    if (options_.counters != nullptr) {
      options_.counters->session_ended(metrics::SessionOutcome::Refused);
    }
    if (options_.log) {
      options_.log->warn("refused connection from [{}]: {}", ip, refusal_reason(admitted));
    }
    asio::co_spawn(executor, refuse(std::move(socket), refusal_reply(admitted)), asio::detached);
    return;
  }
  metrics::count(options_.counters, metrics::Counter::ConnectionsAccepted);
  std::string id = id_prefix_ + std::to_string(++sessions_started_);
  auto session = std::make_shared<Session>(options_, std::move(socket), peers, std::move(admission),
                                           std::move(id));
  sessions_[loop].emplace(session.get(), session);
  ++open_sessions_;
  asio::co_spawn(executor, Session::run(session),
                 [this, loop, key = session.get(), ip, log = options_.log](std::exception_ptr e) {
                   session_ended(loop, key);
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
