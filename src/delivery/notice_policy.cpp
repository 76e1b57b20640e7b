// notice_policy: NOTIFY (RFC 3461 4.1) and the null-sender rule.
#include "delivery/notice_policy.hpp"

namespace backstop::delivery {

bool NoticePolicy::may_notify(const mail::Envelope& envelope,
                              const mail::Recipient& recipient) const {
  // No sender carries a verification mark until SPF exists: "verified-sender" sends none.
  return mode_ == BounceMode::Always && !envelope.sender.is_null() &&
         (recipient.notify & mail::NotifyNever) == 0;
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
  if (mode_ == BounceMode::VerifiedSender) {
    return "bounce = verified-sender, sender not verified";
  }
  return "NOTIFY";
}

} // namespace backstop::delivery
