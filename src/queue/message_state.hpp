// message_state: the mutable part of a queued message (per-recipient delivery status, retry
// times, hold flag). The immutable part is the envelope and the message bytes.
#pragma once

#include "mail/envelope.hpp"
#include "mail/queue_id.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace backstop::queue {

enum class RecipientStatus : std::uint8_t {
  Pending = 0,   // still to deliver
  Delivered = 1, // a 2xx from the next hop
  Failed = 2,    // permanent failure (5xx, null MX, expired); a bounce was queued if due
};

struct RecipientState {
  RecipientStatus status = RecipientStatus::Pending;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt_unix = 0; // 0: as soon as possible
  std::string last_error;             // last reply or failure, for queue list and DSNs
  std::string remote;                 // host that gave last_error / accepted it
};

struct MessageState {
  bool held = false;                      // held messages are never delivered until released
  std::int64_t delay_notice_unix = 0;     // when the delay DSN was queued, 0 if never
  std::vector<RecipientState> recipients; // same order as Envelope::recipients
};

struct QueuedMessage {
  mail::QueueId id;
  mail::Envelope envelope;
  MessageState state;
  std::uint64_t body_size = 0; // octets of the stored message (Received header included)
};

} // namespace backstop::queue
