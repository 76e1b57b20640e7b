// dsn_builder: delivery status notifications as RFC 3464 multipart/report messages: a
// human-readable part, the message/delivery-status part, and the original message (whole,
// or its headers for RET=HDRS, RFC 3461 4.3). Pure: the scheduler decides whether a notice
// is due and queues what this builds.
#pragma once

#include "mail/envelope.hpp"
#include "mail/queue_id.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace backstop::delivery {

enum class DsnAction { Failed, Delayed };

struct DsnRecipient {
  mail::Recipient recipient;
  std::string status;     // RFC 3463 code, "5.1.1"
  std::string diagnostic; // "550 5.1.1 <user@example.test>: user unknown"
  std::string remote_mta; // host that answered, may be empty
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
// "5.1.1" out of a reply text, or a default by class when the reply carries none.
std::string status_from_reply(int code, const std::string& reply);

} // namespace backstop::delivery
