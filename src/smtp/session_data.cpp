// session_data: receiving a message (DATA with dot-unstuffing, or BDAT chunks, RFC 3030),
// enforcing the size and line limits while reading, and the 250 only after the spool has
// made the message durable. Oversize or malformed messages are read to their end and then
// refused, so the connection stays in sync.
#include "mail/replies.hpp"
#include "queue/spool.hpp"
#include "smtp/async_commit.hpp"
#include "smtp/received_header.hpp"
#include "smtp/session.hpp"

#include <charconv>

namespace backstop::smtp {

namespace mr = mail::replies;

namespace {
constexpr std::size_t data_read_chunk = 64 * 1024;
constexpr std::size_t body_flush_at = 64 * 1024;
constexpr std::size_t unknown_size_guess = 16 * 1024; // no SIZE= given: most mail is small

// What a message's body will likely take, to size its buffers once instead of growing them.
std::size_t expected_body(std::uint64_t declared) {
  const std::uint64_t guess = declared > 0 ? declared + 1024 : unknown_size_guess;
  return static_cast<std::size_t>(std::min<std::uint64_t>(guess, 2 * body_flush_at));
}
} // namespace

void Session::start_body() {
  message_id_ = options_.spool->allocate_id();
  message_arrival_ = options_.clock->now_unix();
  message_too_big_ = false;
  message_store_failed_ = false;
  received_header_size_ = 0;
  body_.emplace(options_.spool->new_body());
  std::string header;
  for (const auto& line : ctx_.headers) { // what checks add (Received-SPF), above ours
    header += line;
    header += "\r\n";
  }
  ReceivedFacts facts;
  facts.helo = ctx_.helo;
  facts.client_ip = ctx_.client.ip;
  facts.by_host = options_.hostname;
  facts.esmtp = esmtp_;
  facts.tls = transport_.tls_description();
  facts.smtputf8 = tx_.mail.smtputf8;
  facts.id = message_id_;
  if (tx_.recipients.size() == 1) {
    facts.single_recipient = tx_.recipients.front().address.to_string();
  }
  facts.unix_time = message_arrival_;
  header += received_header(facts);
  received_header_size_ = header.size();
  body_->reserve(header.size() + expected_body(tx_.mail.size));
  append_to_body(header);
  hops_ = {}; // our own trace header is not one of the client's hops
}

// Moves chunk into the body unless the message is already refused; false once it is.
bool Session::append_to_body(std::string& chunk) {
  hops_.feed(chunk);
  if (message_too_big_ || message_store_failed_) {
    chunk.clear();
    return false;
  }
  // SIZE (RFC 1870) is about what the client sends; our own trace header does not count.
  if (body_->size() + chunk.size() > options_.limits.max_message_size + received_header_size_) {
    message_too_big_ = true;
    body_->clear();
    chunk.clear();
    return false;
  }
  if (!body_->append(chunk)) {
    message_store_failed_ = true;
    body_->clear();
  }
  chunk.clear();
  return !message_store_failed_;
}

asio::awaitable<Session::Outcome> Session::on_data(std::string_view argument) {
  if (!argument.empty()) {
    reply_error(mr::parameter_error);
    co_return Outcome::Continue;
  }
  if (!tx_.active) {
    reply_error(mr::need_mail);
    co_return Outcome::Continue;
  }
  if (tx_.recipients.empty() || tx_.bdat_started) {
    reply_error(tx_.bdat_started ? mr::bad_sequence : mr::need_rcpt);
    co_return Outcome::Continue;
  }
  const auto verdict = co_await pipeline_->decide(policy::Stage::Data, ctx_);
  if (verdict.refused()) {
    reset_transaction();
    co_return co_await answer_verdict(verdict, policy::Stage::Data, "DATA");
  }
  reply(mr::start_data);
  start_body();
  DataReader reader(options_.limits.max_data_line);
  std::string chunk;
  chunk.reserve(expected_body(tx_.mail.size));
  for (;;) {
    auto step = reader.feed(pending_input(), chunk);
    consume(step.consumed);
    if (step.done) {
      break;
    }
    if (chunk.size() >= body_flush_at) {
      append_to_body(chunk);
    }
    if (!co_await read_more(options_.limits.data_timeout, data_read_chunk)) {
      co_return Outcome::Close; // connection lost mid-message: nothing was acknowledged
    }
  }
  append_to_body(chunk);
  co_await finish_message(reader);
  co_return Outcome::Continue;
}

namespace {
struct BdatArgs {
  std::uint64_t size = 0;
  bool last = false;
};

bool parse_bdat(std::string_view argument, BdatArgs& out) {
  auto space = argument.find(' ');
  std::string_view number = argument.substr(0, space);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), out.size);
  if (ec != std::errc() || end != number.data() + number.size() || number.empty()) {
    return false;
  }
  if (space == std::string_view::npos) {
    return true;
  }
  std::string_view rest = argument.substr(space + 1);
  out.last = rest.size() == 4 && (rest[0] | 0x20) == 'l' && (rest[1] | 0x20) == 'a' &&
             (rest[2] | 0x20) == 's' && (rest[3] | 0x20) == 't';
  return out.last;
}
} // namespace

asio::awaitable<Session::Outcome> Session::discard_octets(std::uint64_t count) {
  while (count > 0) {
    std::string_view pending = pending_input();
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(count, pending.size()));
    consume(take);
    count -= take;
    if (count > 0) {
      const bool more = co_await read_more(options_.limits.data_timeout, data_read_chunk);
      if (!more) {
        co_return Outcome::Close;
      }
    }
  }
  co_return Outcome::Continue;
}

asio::awaitable<Session::Outcome> Session::on_bdat(std::string_view argument) {
  BdatArgs args;
  if (!parse_bdat(argument, args)) {
    // Without a valid size we cannot know where the chunk ends: the stream is lost.
    reply_error(mr::parameter_error);
    co_return Outcome::Close;
  }
  if (!tx_.active || tx_.recipients.empty()) {
    const auto outcome = co_await discard_octets(args.size);
    reply_error(tx_.active ? mr::need_rcpt : mr::need_mail);
    co_return outcome;
  }
  if (!tx_.bdat_started) {
    const auto verdict = co_await pipeline_->decide(policy::Stage::Data, ctx_);
    if (verdict.refused()) {
      const std::string sender = tx_.mail.sender.to_string();
      reset_transaction();
      const auto outcome = co_await discard_octets(args.size);
      const auto answered = co_await answer_verdict(verdict, policy::Stage::Data, sender);
      co_return outcome == Outcome::Close ? outcome : answered;
    }
    tx_.bdat_started = true;
    bdat_reader_.emplace(options_.limits.max_data_line);
    start_body();
  }
  std::uint64_t left = args.size;
  std::string chunk;
  while (left > 0) {
    std::string_view pending = pending_input();
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left, pending.size()));
    bdat_reader_->feed_chunk(pending.substr(0, take), chunk);
    consume(take);
    left -= take;
    if (chunk.size() >= body_flush_at) {
      append_to_body(chunk);
    }
    if (left > 0) {
      const bool more = co_await read_more(options_.limits.data_timeout, data_read_chunk);
      if (!more) {
        co_return Outcome::Close;
      }
    }
  }
  if (!args.last) {
    append_to_body(chunk);
    reply({250, "2.0.0", std::to_string(args.size) + " octets received"});
    co_return Outcome::Continue;
  }
  bdat_reader_->finish_chunks(chunk);
  append_to_body(chunk);
  const DataReader reader = *bdat_reader_;
  co_await finish_message(reader);
  co_return Outcome::Continue;
}

mail::Envelope Session::build_envelope() const {
  mail::Envelope env;
  env.sender = tx_.mail.sender;
  env.recipients = tx_.recipients;
  env.declared_size = tx_.mail.size;
  env.body = tx_.mail.body;
  env.smtputf8 = tx_.mail.smtputf8;
  env.ret = tx_.mail.ret;
  env.envid = tx_.mail.envid;
  env.client_ip = ctx_.client.ip;
  env.helo = ctx_.helo;
  env.tls = transport_.tls_description();
  env.arrival_unix = message_arrival_;
  env.sender_verified = !ctx_.fact(policy::facts::sender_verified).empty();
  return env;
}

asio::awaitable<void> Session::finish_message(const DataReader& reader) {
  const std::string id = message_id_.to_string();
  std::optional<mail::Reply> refusal;
  if (message_too_big_) {
    refusal = mr::size_exceeded;
  } else if (reader.line_too_long()) {
    refusal = mr::data_line_too_long.with_text(
        "Message line longer than " + std::to_string(options_.limits.max_data_line) + " octets");
  } else if (reader.bare_line_endings() > 0 && options_.limits.reject_bare_line_endings) {
    refusal = mr::bare_lf_in_data;
  } else if (hops_.received_headers() > options_.limits.hop_count_limit) {
    refusal =
        mr::too_many_hops.with_text("Too many hops: " + std::to_string(hops_.received_headers()) +
                                    " Received headers, mail loop?");
  } else if (message_store_failed_) {
    refusal = body_->failed_errno() == ENOSPC ? mr::disk_full : mr::queue_write_error;
  }
  if (refusal) {
    if (options_.log) {
      options_.log->info("session={} {}: refused from [{}]: {}", ctx_.session_id, id,
                         ctx_.client.ip, refusal->text);
    }
    reset_transaction();
    reply_error(*refusal);
    co_return;
  }
  const std::size_t nrcpt = tx_.recipients.size();
  const std::uint64_t size = body_->size();
  auto result = co_await async_commit(*options_.spool, message_id_, build_envelope(),
                                      std::move(*body_), asio::use_awaitable);
  if (!result.ok()) {
    if (options_.log) {
      options_.log->error("{}: queue write failed: {}", id, result.detail);
    }
    reset_transaction();
    reply_error(*result.error == queue::CommitError::DiskFull ? mr::disk_full
                                                              : mr::queue_write_error);
    co_return;
  }
  if (options_.log) {
    options_.log->info("session={} {}: from=<{}> size={} nrcpt={} client=[{}]{}", ctx_.session_id,
                       id, tx_.mail.sender.to_string(), size, nrcpt, ctx_.client.ip,
                       ctx_.client.tls ? " tls" : "");
  }
  metrics::count(options_.counters, metrics::Counter::MessagesAccepted);
  ++messages_accepted_;
  reset_transaction();
  reply({250, "2.0.0", "Ok: queued as " + id});
}

} // namespace backstop::smtp
