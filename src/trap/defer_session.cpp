// defer_session: one coroutine per connection, a watchdog for the session deadline.
#include "trap/defer_session.hpp"

#include "smtp/asio_tokens.hpp"
#include "trap/handlers.hpp"
#include "trap/line_assembler.hpp"

#include <fmt/format.h>

namespace backstop::trap {

namespace {

using smtp::use_tuple;

class DeferSession : public std::enable_shared_from_this<DeferSession> {
public:
  DeferSession(const DeferHandler& handler, asio::ip::tcp::socket socket, const smtp::Peers& peers,
               smtp::Admission admission)
      : handler_(handler), socket_(std::move(socket)), admission_(std::move(admission)),
        deadline_(socket_.get_executor()), address_(client_address(peers.remote)),
        conversation_(handler.listener().max_commands) {}

  asio::any_io_executor executor() { return socket_.get_executor(); }

  static asio::awaitable<void> run(std::shared_ptr<DeferSession> self) {
    self->deadline_.expires_after(self->handler_.listener().max_duration);
    asio::co_spawn(self->socket_.get_executor(), watchdog(self), asio::detached);
    const std::string detail = co_await self->converse();
    self->deadline_.cancel();
    std::error_code ignored;
    self->socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    self->socket_.close(ignored);
    self->record(detail);
  }

private:
  static asio::awaitable<void> watchdog(std::shared_ptr<DeferSession> self) {
    auto [ec] = co_await self->deadline_.async_wait(use_tuple);
    if (!ec) {
      self->timed_out_ = true;
      std::error_code ignored;
      self->socket_.cancel(ignored); // the pending read ends; converse() says 421
    }
  }

  asio::awaitable<bool> send(std::string_view text) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(text), use_tuple);
    co_return !ec;
  }

  // The conversation to its end; returns what happened, for the record.
  asio::awaitable<std::string> converse() {
    const auto& replies = handler_.replies();
    const bool greeted = co_await send(replies.banner());
    if (!greeted) {
      co_return "closed before the banner";
    }
    while (true) {
      if (pending_.empty()) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk_), use_tuple);
        if (timed_out_) {
          co_await send(replies.deadline());
          co_return "session deadline";
        }
        if (ec) {
          co_return fmt::format("client left after {} commands", conversation_.commands());
        }
        pending_ = std::string_view(chunk_.data(), n);
      }
      pending_.remove_prefix(line_.feed(pending_));
      if (!line_.complete()) {
        continue;
      }
      const Answer answer =
          conversation_.on_line(line_.line(), *handler_.services().our_domains.load());
      const bool sent = co_await send(replies.text(answer));
      if (!sent) {
        co_return "client left";
      }
      if (closes(answer)) {
        co_return answer == Answer::Bye
            ? fmt::format("QUIT after {} commands", conversation_.commands())
            : "command limit";
      }
    }
  }

  void record(const std::string& how) {
    Hit hit;
    hit.address = address_;
    hit.helo = conversation_.helo();
    hit.sender_domain = conversation_.sender_domain();
    hit.recipient_domain = conversation_.recipient_domain();
    hit.named_ours = conversation_.named_ours();
    hit.detail = (conversation_.rcpt_seen() ? "deferred at RCPT; " : "no RCPT; ") + how;
    handler_.recorder().record(hit);
  }

  const DeferHandler& handler_;
  asio::ip::tcp::socket socket_;
  smtp::Admission admission_;
  asio::steady_timer deadline_;
  std::string address_;
  bool timed_out_ = false;
  std::array<char, 1024> chunk_;
  std::string_view pending_; // of chunk_, not yet fed
  LineAssembler<512> line_;
  Conversation conversation_;
};

} // namespace

DeferHandler::DeferHandler(TrapListener listener, const TrapServices& services)
    : listener_(std::move(listener)), services_(services), replies_(services.hostname),
      recorder_(listener_, services_) {}

void DeferHandler::start(std::size_t, asio::ip::tcp::socket socket, const smtp::Peers& peers) {
  smtp::Admission admission;
  if (services_.limiter != nullptr) {
    const auto admitted = services_.limiter->admit(client_address(peers.remote), admission);
    if (admitted != smtp::AdmitResult::Admitted) {
      metrics::count(services_.counters, metrics::Counter::ConnectionsRefused);
      std::error_code ignored;
      asio::write(socket, asio::buffer(replies_.busy()), ignored); // fits the socket buffer
      socket.close(ignored);
      return;
    }
  }
  auto session =
      std::make_shared<DeferSession>(*this, std::move(socket), peers, std::move(admission));
  auto executor = session->executor();
  asio::co_spawn(executor, DeferSession::run(std::move(session)), asio::detached);
}

} // namespace backstop::trap
