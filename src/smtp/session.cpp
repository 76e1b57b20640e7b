// session: the conversation loop, input framing, reply batching and timeouts.
// Replies are queued in output_ and written only when we are about to wait for input (or
// must answer before the client goes on: 354, TLS, the end of data), which is what
// PIPELINING (RFC 2920) expects of a server and saves a write per command.
#include "smtp/session.hpp"

#include "mail/ip_address.hpp"
#include "mail/replies.hpp"
#include "smtp/asio_tokens.hpp"

namespace backstop::smtp {

namespace {
constexpr std::size_t command_read_chunk = 2048;
// Framing accepts lines up to this; MAIL/RCPT may exceed 512 by the DSN allowance (RFC 3461
// section 5), other commands are held to 512 in dispatch().
constexpr std::size_t max_framed_line = 1024;
} // namespace

Session::Session(const SessionOptions& options, asio::ip::tcp::socket socket, const Peers& peers,
                 Admission admission, std::string id)
    : options_(options), transport_(std::move(socket)), admission_(std::move(admission)),
      watchdog_timer_(transport_.socket().get_executor()), pipeline_(options.pipeline->get()) {
  ctx_.session_id = std::move(id);
  ctx_.executor = transport_.socket().get_executor();
  ctx_.client.address = mail::unmapped(peers.remote.address());
  ctx_.client.ip = mail::address_text(ctx_.client.address);
  ctx_.client.listener =
      peers.local.address().to_string() + ":" + std::to_string(peers.local.port());
}

std::string_view Session::pending_input() const { return input_.pending(); }

void Session::consume(std::size_t n) { input_.consume(n); }

// The watchdog sleeps until the deadline it last saw; an earlier one must wake it up.
void Session::set_deadline(std::chrono::seconds timeout) {
  deadline_ = std::chrono::steady_clock::now() + timeout;
  if (deadline_ < watchdog_timer_.expiry()) {
    watchdog_timer_.cancel();
  }
}

void Session::reply(const mail::Reply& r) { r.append_wire(output_, esmtp_); }

void Session::reply_error(const mail::Reply& r) {
  reply(r);
  ++errors_;
}

asio::awaitable<bool> Session::flush() {
  if (output_.empty()) {
    co_return true;
  }
  if (!timed_out_) { // after a timeout the watchdog's short grace period stands
    set_deadline(options_.limits.command_timeout);
  }
  std::error_code ec;
  co_await transport_.write(asio::buffer(output_), ec);
  output_.clear();
  co_return !ec;
}

asio::awaitable<bool> Session::read_more(std::chrono::seconds timeout, std::size_t chunk,
                                         bool command) {
  if (!co_await flush()) {
    co_return false;
  }
  if (command && stopping_) {
    co_return false; // told to stop while the replies were written
  }
  char* room = input_.prepare(chunk);
  set_deadline(timeout);
  std::error_code ec;
  awaiting_command_ = command; // only the read: a cancelled write would lose a reply
  std::size_t n = co_await transport_.read_some(asio::buffer(room, chunk), ec);
  awaiting_command_ = false;
  input_.commit(ec ? 0 : n);
  co_return !ec && n > 0;
}

void Session::stop_soon() {
  stopping_ = true;
  if (awaiting_command_) {
    std::error_code ignored;
    transport_.socket().cancel(ignored); // the read ends; converse() answers 421
  }
}

asio::awaitable<std::optional<std::string_view>> Session::read_command_line() {
  for (;;) {
    if (errors_ >= options_.limits.max_errors) {
      co_return std::nullopt;
    }
    std::string_view pending = pending_input();
    if (discarding_long_line_) {
      auto lf = pending.find('\n');
      consume(lf == std::string_view::npos ? pending.size() : lf + 1);
      discarding_long_line_ = lf == std::string_view::npos;
      if (discarding_long_line_) {
        const bool more =
            co_await read_more(options_.limits.command_timeout, command_read_chunk, true);
        if (!more) {
          co_return std::nullopt;
        }
      }
      continue;
    }
    LineScan scan = find_command_line(pending, max_framed_line);
    switch (scan.status) {
    case LineStatus::Complete:
      consume(scan.length);
      co_return pending.substr(0, scan.length - 2);
    case LineStatus::BareLineEnding:
      consume(scan.length);
      reply_error(mail::replies::bare_line_ending);
      continue;
    case LineStatus::TooLong:
      consume(scan.length);
      discarding_long_line_ = pending.substr(0, scan.length).find('\n') == std::string_view::npos;
      reply_error(mail::replies::line_too_long);
      continue;
    case LineStatus::NeedMore:
      if (!co_await read_more(options_.limits.command_timeout, command_read_chunk, true)) {
        co_return std::nullopt;
      }
      continue;
    }
  }
}

asio::awaitable<void> Session::watchdog(std::shared_ptr<Session> self) {
  while (!self->closed_) {
    self->watchdog_timer_.expires_at(self->deadline_);
    co_await self->watchdog_timer_.async_wait(use_tuple);
    if (self->closed_) {
      break;
    }
    if (self->deadline_ <= std::chrono::steady_clock::now()) {
      self->timed_out_ = true;
      // Give the goodbye a moment, then hang up for good.
      self->deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      std::error_code ignored;
      self->transport_.socket().cancel(ignored);
    }
  }
}

asio::awaitable<void> Session::run(std::shared_ptr<Session> self) { co_await self->converse(); }

void Session::count_outcome(bool greeted, bool closed_by_command) const {
  if (options_.counters == nullptr) {
    return;
  }
  using metrics::SessionOutcome;
  auto outcome = SessionOutcome::Dropped;
  if (!greeted) {
    outcome = SessionOutcome::Refused;
  } else if (messages_accepted_ > 0) {
    outcome = SessionOutcome::Mail;
  } else if (timed_out_) {
    outcome = SessionOutcome::Timeout;
  } else if (errors_ >= options_.limits.max_errors) {
    outcome = SessionOutcome::Errors;
  } else if (closed_by_command) {
    outcome = SessionOutcome::NoMail;
  }
  options_.counters->session_ended(outcome);
}

// Bots talk before the banner; real MTAs wait for it (RFC 5321 4.3.1). What arrives within
// greeting_delay is kept as the first commands and marks the client an early talker.
asio::awaitable<void> Session::watch_for_early_talk() {
  asio::steady_timer timer(transport_.socket().get_executor(), options_.limits.greeting_delay);
  timer.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) {
      std::error_code ignored;
      self->transport_.socket().cancel(ignored);
    }
  });
  char* room = input_.prepare(command_read_chunk);
  std::error_code ec;
  const std::size_t n = co_await transport_.read_some(asio::buffer(room, command_read_chunk), ec);
  input_.commit(ec ? 0 : n);
  timer.cancel();
  ctx_.client.early_talker = n > 0 && !ec;
}

// The connect stage: the pipeline decides between the banner and a refusal that ends it.
asio::awaitable<bool> Session::greet() {
  if (options_.limits.greeting_delay.count() > 0) {
    co_await watch_for_early_talk();
  }
  const auto verdict = co_await pipeline_->decide(policy::Stage::Connect, ctx_);
  if (verdict.refused()) {
    co_await answer_verdict(verdict, policy::Stage::Connect, ctx_.client.ip);
    co_return false; // the refusal is sent as the session closes
  }
  reply({220, "", options_.hostname + " ESMTP backstop"});
  co_return true;
}

asio::awaitable<void> Session::converse() {
  deadline_ = std::chrono::steady_clock::now() + options_.limits.command_timeout;
  asio::co_spawn(transport_.socket().get_executor(), watchdog(shared_from_this()), asio::detached);
  const bool greeted = co_await greet();
  bool closed_by_command = false;
  bool shut_down = false; // the loop ended for the server's shutdown, not the client
  for (; greeted;) {
    if (stopping_) { // no next command is read
      shut_down = true;
      break;
    }
    auto line = co_await read_command_line();
    if (!line) {
      shut_down = stopping_ && !timed_out_;
      break;
    }
    if (co_await dispatch(parse_command(*line), line->size() + 2) == Outcome::Close) {
      closed_by_command = true;
      break;
    }
  }
  count_outcome(greeted, closed_by_command);
  if (timed_out_) {
    output_.clear();
    reply(mail::replies::timeout);
  } else if (errors_ >= options_.limits.max_errors) {
    reply(mail::replies::too_many_errors);
  } else if (shut_down) {
    reply(mail::replies::shutting_down.with_text(options_.hostname + " shutting down"));
  }
  co_await flush();
  closed_ = true;
  watchdog_timer_.cancel();
  transport_.close();
  if (options_.log) {
    options_.log->info("session={} disconnect from [{}] errors={}{}", ctx_.session_id,
                       ctx_.client.ip, errors_, timed_out_ ? " timeout" : "");
  }
}

} // namespace backstop::smtp
