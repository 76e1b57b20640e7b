// dsn_builder: delivery status notifications as RFC 3464 multipart/report messages: a
// human-readable part, the message/delivery-status part, and the original message (whole,
// or its headers for RET=HDRS, RFC 3461 4.3). Pure: the scheduler decides whether a notice
// is due and queues what this builds.
#pragma once

#include "mail/envelope.hpp"
#include "mail/queue_id.hpp"
#include "queue/message_state.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace backstop::delivery {

enum class DsnAction { Failed, Delayed };

struct DsnRecipient {
  mail::Recipient recipient;
  std::string status;      // RFC 3463 code, "5.1.1"
  std::string diagnostic;  // the last SMTP reply, "550 5.1.1 <user@example.test>: user unknown"
  std::string remote_mta;  // host that answered, may be empty
  std::string explanation; // the last error for people; diagnostic when empty
};

struct DsnInput {
  std::string reporting_mta; // our hostname
  mail::QueueId id;
  const mail::Envelope* envelope = nullptr;
  std::string original_message; // stored bytes, our Received header included
  DsnAction action = DsnAction::Failed;
  std::vector<DsnRecipient> recipients;
  std::int64_t now_unix = 0;
  std::int64_t retry_until_unix = 0; // for Delayed
};

// The complete message text (CRLF line endings).
std::string build_dsn(const DsnInput& input);
// The envelope of the notice: from <> to the original sender, never itself notified.
mail::Envelope dsn_envelope(const DsnInput& input, const std::string& client_ip);
// "5.1.1" out of a reply text when its class is code's class (RFC 3463 2), or a default
// by class when the reply carries none.
std::string status_from_reply(int code, const std::string& reply);

// The last_error of a recipient whose message expired in the queue; the error before it
// stays readable, and dsn_recipient() reports it (Status X.4.7, RFC 3463 3.5).
std::string expired_error(const std::string& last_error);
// The SMTP reply in an error text: the text itself ("451 4.7.1 ..."), or what follows
// "<host> said: "; empty when the error was no reply (connection refused, DNS).
std::string smtp_reply_in(const std::string& error);
// One recipient's report from its queue state. Failed: 5.4.7 when the message expired, else
// the last reply's 5.x.x (5.0.0 without one). Delayed: the last reply's 4.x.x, else 4.4.7
// (RFC 3463 X.4.7, as sendmail's delay warnings). Diagnostic-Code: the last SMTP reply.
DsnRecipient dsn_recipient(const mail::Recipient& recipient, const queue::RecipientState& state,
                           DsnAction action);

} // namespace backstop::delivery
