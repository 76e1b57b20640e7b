// notice_policy: NOTIFY (RFC 3461 4.1) and the null-sender rule.
#include "delivery/notice_policy.hpp"

namespace backstop::delivery {

bool NoticePolicy::may_notify(const mail::Envelope& envelope,
                              const mail::Recipient& recipient) const {
  // The mark was set when the message was accepted (SPF pass or sender callout).
  const bool mode_allows = mode_ == BounceMode::Always ||
                           (mode_ == BounceMode::VerifiedSender && envelope.sender_verified);
  return mode_allows && !envelope.sender.is_null() && (recipient.notify & mail::NotifyNever) == 0;
}

bool NoticePolicy::failure_notice(const mail::Envelope& envelope,
                                  const mail::Recipient& recipient) const {
  return may_notify(envelope, recipient) &&
         (recipient.notify == mail::NotifyNone || (recipient.notify & mail::NotifyFailure) != 0);
}

// Without NOTIFY the MTA chooses (RFC 3461 4.1); like most MTAs we warn on delay then.
bool NoticePolicy::delay_notice(const mail::Envelope& envelope,
                                const mail::Recipient& recipient) const {
  return may_notify(envelope, recipient) &&
         (recipient.notify == mail::NotifyNone || (recipient.notify & mail::NotifyDelay) != 0);
}

const char* NoticePolicy::why_no_notice(const mail::Envelope& envelope,
                                        const mail::Recipient& recipient) const {
  if (envelope.sender.is_null()) {
    return "null sender";
  }
  if (mode_ == BounceMode::Never) {
    return "bounce = never";
  }
  if (mode_ == BounceMode::VerifiedSender && !envelope.sender_verified) {
    return "bounce = verified-sender, sender not verified";
  }
  return "NOTIFY";
}

} // namespace backstop::delivery
