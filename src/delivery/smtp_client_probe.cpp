// smtp_client_probe: the callout transaction, MAIL + RCPT + RSET, on an open connection.
#include "delivery/smtp_client.hpp"

namespace backstop::delivery {

namespace {
bool needs_utf8(const mail::Address& a) {
  const std::string text = a.to_string();
  return std::any_of(text.begin(), text.end(), [](char c) { return (c & 0x80) != 0; });
}
} // namespace

asio::awaitable<SmtpClient::ProbeOutcome> SmtpClient::probe(const mail::Address& sender,
                                                            const mail::Address& recipient) {
  ProbeOutcome out;
  const bool utf8 = needs_utf8(sender) || needs_utf8(recipient);
  if (utf8 && !extensions_.smtputf8) {
    out.rcpt = {0, host_ + " does not support SMTPUTF8"};
    co_return out;
  }
  mail::Envelope envelope; // no message: no SIZE, BODY or DSN parameters
  envelope.sender = sender;
  envelope.smtputf8 = utf8;
  const std::string mail = mail_command(envelope, 0);
  const std::string rcpt = rcpt_command({recipient, mail::NotifyNone, ""});
  const auto timeout = options_.command_timeout;
  std::optional<smtp::ParsedReply> mail_reply;
  std::optional<smtp::ParsedReply> rcpt_reply;
  if (extensions_.pipelining) {
    if (co_await write(mail + rcpt + "RSET\r\n", timeout, "MAIL FROM")) {
      mail_reply = co_await read_reply(timeout, "the reply to MAIL FROM");
    }
    if (mail_reply) {
      rcpt_reply = co_await read_reply(timeout, "the reply to RCPT TO");
    }
    if (rcpt_reply) {
      auto reset = co_await read_reply(timeout, "the reply to RSET");
      usable_ = usable_ && reset && reset->code == 250;
    }
  } else {
    if (co_await write(mail, timeout, "MAIL FROM")) {
      mail_reply = co_await read_reply(timeout, "the reply to MAIL FROM");
    }
    if (mail_reply && mail_reply->code / 100 == 2) {
      if (co_await write(rcpt, timeout, "RCPT TO")) {
        rcpt_reply = co_await read_reply(timeout, "the reply to RCPT TO");
      }
    }
    if (mail_reply) {
      co_await abort_transaction();
    }
  }
  if (!mail_reply) {
    usable_ = false;
    out.rcpt = {0, failure_};
    co_return out;
  }
  out.mail_code = mail_reply->code;
  out.mail_reply = format_reply(*mail_reply);
  if (mail_reply->code / 100 != 2) {
    out.rcpt = {0, "MAIL refused by " + host_ + ": " + format_reply(*mail_reply)};
    co_return out;
  }
  if (!rcpt_reply) {
    usable_ = false;
    out.rcpt = {0, failure_};
    co_return out;
  }
  out.rcpt = {rcpt_reply->code, format_reply(*rcpt_reply)};
  out.rcpt_enhanced = rcpt_reply->enhanced;
  if (rcpt_reply->code == 421) {
    usable_ = false; // RFC 5321 3.8: the server is closing the channel
  }
  co_return out;
}

} // namespace backstop::delivery
