// smtp_client_send: one mail transaction on an open connection: MAIL, RCPT..., DATA,
// pipelined when the server offers PIPELINING (RFC 2920), with a result per recipient.
#include "delivery/smtp_client.hpp"
#include "smtp/dot_stuffer.hpp"

namespace backstop::delivery {

namespace {
bool positive(const std::optional<smtp::ParsedReply>& r) {
  return r && r->code >= 200 && r->code < 300;
}
} // namespace

// GCC 12 miscompiles co_await inside && / || (the temporaries of the awaited call die
// early), so every co_await below is a statement of its own.
asio::awaitable<void> SmtpClient::abort_transaction() {
  if (!usable_) {
    co_return;
  }
  const bool sent = co_await write("RSET\r\n", options_.command_timeout, "RSET");
  if (sent) {
    auto reset = co_await read_reply(options_.command_timeout, "the reply to RSET");
    usable_ = usable_ && reset && reset->code == 250;
  }
}

asio::awaitable<void> SmtpClient::quit() {
  if (usable_) {
    const bool sent = co_await write("QUIT\r\n", std::chrono::seconds(10), "QUIT");
    if (sent) {
      co_await read_reply(std::chrono::seconds(10), "the reply to QUIT");
    }
  }
  usable_ = false;
  transport_.close();
}

asio::awaitable<TransactionResult> SmtpClient::send(const mail::Envelope& envelope,
                                                    const std::vector<std::size_t>& recipients,
                                                    std::string_view body) {
  TransactionResult result;
  const std::size_t count = recipients.size();
  if (envelope.smtputf8 && !extensions_.smtputf8) {
    fail_all(result, count, 553,
             "553 5.6.7 " + host_ + " does not support SMTPUTF8, which this message needs");
    co_return result;
  }
  if (extensions_.size != 0 && body.size() > extensions_.size) {
    fail_all(result, count, 552,
             "552 5.3.4 message size exceeds the limit of " + host_ + " (" +
                 std::to_string(extensions_.size) + ")");
    co_return result;
  }
  const bool pipelining = extensions_.pipelining;
  std::string batch = mail_command(envelope, body.size());
  bool mail_sent = true;
  if (!pipelining) {
    mail_sent = co_await write(batch, options_.command_timeout, "MAIL FROM");
  }
  if (!mail_sent) {
    fail_all(result, count, 0, failure_);
    result.connection_broken = true;
    co_return result;
  }
  std::optional<smtp::ParsedReply> mail_reply;
  if (!pipelining) {
    mail_reply = co_await read_reply(options_.command_timeout, "the reply to MAIL FROM");
    if (!positive(mail_reply)) {
      fail_all(result, count, mail_reply ? mail_reply->code : 0,
               mail_reply ? format_reply(*mail_reply) : failure_);
      result.connection_broken = !mail_reply;
      co_await abort_transaction();
      co_return result;
    }
    batch.clear();
  }
  for (std::size_t index : recipients) {
    batch += rcpt_command(envelope.recipients[index]);
  }
  if (pipelining) {
    batch += "DATA\r\n";
  }
  result.recipients.resize(count);
  bool lost = !co_await write(batch, options_.command_timeout, "RCPT TO");
  if (pipelining && !lost) {
    mail_reply = co_await read_reply(options_.command_timeout, "the reply to MAIL FROM");
    lost = !mail_reply;
  }
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < count && !lost; ++i) {
    auto r = co_await read_reply(options_.command_timeout, "the reply to RCPT TO");
    if (!r) {
      lost = true;
      break;
    }
    // With PIPELINING a refused MAIL makes every RCPT fail; report the MAIL reply then.
    const auto& decisive = positive(mail_reply) ? *r : *mail_reply;
    result.recipients[i] = {decisive.code, format_reply(decisive), positive(mail_reply)};
    if (positive(mail_reply) && r->code >= 200 && r->code < 300) {
      accepted.push_back(i);
    }
  }
  std::optional<smtp::ParsedReply> data_reply;
  if (!lost && !pipelining && !accepted.empty()) {
    lost = !co_await write("DATA\r\n", options_.command_timeout, "DATA");
  }
  if (!lost && (pipelining || !accepted.empty())) {
    data_reply = co_await read_reply(options_.command_timeout, "the reply to DATA");
    lost = !data_reply;
  }
  if (lost) {
    for (auto& r : result.recipients) {
      if (r.code == 0 || r.delivered()) {
        r = {0, failure_};
      }
    }
    result.connection_broken = true;
    co_return result;
  }
  if (accepted.empty()) {
    if (data_reply && data_reply->code == 354) {
      co_await write(".\r\n", options_.command_timeout, "an empty message"); // unasked 354
      co_await read_reply(options_.data_timeout, "the reply to the final dot");
    }
    co_await abort_transaction();
    co_return result;
  }
  if (data_reply->code != 354) {
    for (std::size_t i : accepted) {
      result.recipients[i] = {data_reply->code, format_reply(*data_reply)};
    }
    co_await abort_transaction();
    co_return result;
  }
  std::string wire;
  smtp::dot_stuff(body, wire);
  std::optional<smtp::ParsedReply> final_reply;
  if (co_await write(wire, options_.data_timeout, "the message")) {
    final_reply = co_await read_reply(options_.data_timeout, "the reply to the final dot");
  }
  for (std::size_t i : accepted) {
    result.recipients[i] = final_reply
                               ? RecipientOutcome{final_reply->code, format_reply(*final_reply)}
                               : RecipientOutcome{0, failure_};
  }
  result.connection_broken = !final_reply;
  co_return result;
}

} // namespace backstop::delivery
