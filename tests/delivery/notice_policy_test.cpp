// notice_policy_test: who may get a bounce or a delay notice. bounce = "verified-sender"
// sends them only to a sender that was verified when its message was accepted; the null
// sender and NOTIFY=NEVER get none under any mode.
#include "delivery/notice_policy.hpp"

#include <gtest/gtest.h>
#include <string>

namespace backstop::delivery {
namespace {

mail::Envelope from(mail::Address sender, bool verified) {
  mail::Envelope e;
  e.sender = std::move(sender);
  e.recipients.push_back({{"alice", "example.test"}, mail::NotifyNone, ""});
  e.sender_verified = verified;
  return e;
}

const mail::Recipient plain{{"alice", "example.test"}, mail::NotifyNone, ""};

TEST(NoticePolicy, VerifiedSenderModeNotifiesAVerifiedSender) {
  const NoticePolicy policy(BounceMode::VerifiedSender);
  const auto e = from({"bob", "sender.test"}, true);
  EXPECT_TRUE(policy.failure_notice(e, plain));
  EXPECT_TRUE(policy.delay_notice(e, plain));
}

TEST(NoticePolicy, VerifiedSenderModeSendsNothingToAnUnverifiedSender) {
  const NoticePolicy policy(BounceMode::VerifiedSender);
  const auto e = from({"bob", "sender.test"}, false);
  EXPECT_FALSE(policy.failure_notice(e, plain));
  EXPECT_FALSE(policy.delay_notice(e, plain));
  EXPECT_EQ(std::string(policy.why_no_notice(e, plain)),
            "bounce = verified-sender, sender not verified");
}

TEST(NoticePolicy, VerifiedSenderModeStillHonoursNotifyAndTheNullSender) {
  const NoticePolicy policy(BounceMode::VerifiedSender);
  const auto e = from({"bob", "sender.test"}, true);
  const mail::Recipient never{{"alice", "example.test"}, mail::NotifyNever, ""};
  EXPECT_FALSE(policy.failure_notice(e, never));
  EXPECT_EQ(std::string(policy.why_no_notice(e, never)), "NOTIFY");
  const mail::Recipient delay_only{{"alice", "example.test"}, mail::NotifyDelay, ""};
  EXPECT_FALSE(policy.failure_notice(e, delay_only));
  EXPECT_TRUE(policy.delay_notice(e, delay_only));
  const auto null_sender = from({}, true);
  EXPECT_FALSE(policy.failure_notice(null_sender, plain));
  EXPECT_EQ(std::string(policy.why_no_notice(null_sender, plain)), "null sender");
}

TEST(NoticePolicy, AlwaysAndNeverIgnoreTheMark) {
  for (const bool verified : {false, true}) {
    const auto e = from({"bob", "sender.test"}, verified);
    EXPECT_TRUE(NoticePolicy(BounceMode::Always).failure_notice(e, plain)) << verified;
    EXPECT_FALSE(NoticePolicy(BounceMode::Never).failure_notice(e, plain)) << verified;
    EXPECT_FALSE(NoticePolicy(BounceMode::Never).delay_notice(e, plain)) << verified;
  }
}

} // namespace
} // namespace backstop::delivery
