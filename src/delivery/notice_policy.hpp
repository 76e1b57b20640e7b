// notice_policy: the one switchable place that decides whether a delivery status notice
// (bounce or delay warning) may be sent. Never to the null sender (RFC 5321 4.5.5), never
// against NOTIFY=NEVER, and not at all when the operator says bounce = "never".
// bounce = "verified-sender" sends only to senders that were verified (SPF pass for the
// MAIL FROM identity, or a sender callout) when the message was accepted.
#pragma once

#include "mail/envelope.hpp"

namespace backstop::delivery {

enum class BounceMode { Always, VerifiedSender, Never };

class NoticePolicy {
public:
  explicit NoticePolicy(BounceMode mode = BounceMode::Always) : mode_(mode) {}

  bool failure_notice(const mail::Envelope& envelope, const mail::Recipient& recipient) const;
  bool delay_notice(const mail::Envelope& envelope, const mail::Recipient& recipient) const;
  // Why no failure notice goes out, for the log: "null sender", "NOTIFY", "bounce = never".
  const char* why_no_notice(const mail::Envelope& envelope, const mail::Recipient& recipient) const;

private:
  bool may_notify(const mail::Envelope& envelope, const mail::Recipient& recipient) const;
  BounceMode mode_;
};

} // namespace backstop::delivery
