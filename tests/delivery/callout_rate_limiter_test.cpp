// callout_rate_limiter_test: per target domain, N callouts a minute and M at once, on a
// manual clock.
#include "delivery/callout_rate_limiter.hpp"

#include <gtest/gtest.h>

namespace backstop::delivery {
namespace {

using namespace std::chrono_literals;
using Admission = CalloutRateLimiter::Admission;

TEST(CalloutRateLimiter, AtMostNPerMinuteThenAgainAfterTheWindow) {
  mail::ManualClock clock;
  CalloutRateLimiter limiter(clock);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(limiter.start("victim.example", 3, 10), Admission::Admitted) << i;
    limiter.finish("victim.example");
  }
  EXPECT_EQ(limiter.start("victim.example", 3, 10), Admission::TooManyPerMinute);
  clock.advance(59s);
  EXPECT_EQ(limiter.start("victim.example", 3, 10), Admission::TooManyPerMinute);
  clock.advance(1s);
  EXPECT_EQ(limiter.start("victim.example", 3, 10), Admission::Admitted);
}

TEST(CalloutRateLimiter, AtMostMAtOnceUntilOneFinishes) {
  mail::ManualClock clock;
  CalloutRateLimiter limiter(clock);
  ASSERT_EQ(limiter.start("victim.example", 100, 2), Admission::Admitted);
  ASSERT_EQ(limiter.start("victim.example", 100, 2), Admission::Admitted);
  EXPECT_EQ(limiter.start("victim.example", 100, 2), Admission::TooManyConcurrent);
  EXPECT_EQ(limiter.running("victim.example"), 2u);
  limiter.finish("victim.example");
  EXPECT_EQ(limiter.start("victim.example", 100, 2), Admission::Admitted);
}

TEST(CalloutRateLimiter, RefusedStartsDoNotCountAgainstTheWindow) {
  mail::ManualClock clock;
  CalloutRateLimiter limiter(clock);
  ASSERT_EQ(limiter.start("a.example", 2, 1), Admission::Admitted);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.start("a.example", 2, 1), Admission::TooManyConcurrent);
  }
  limiter.finish("a.example");
  EXPECT_EQ(limiter.start("a.example", 2, 1), Admission::Admitted);
}

TEST(CalloutRateLimiter, DomainsAreLimitedApart) {
  mail::ManualClock clock;
  CalloutRateLimiter limiter(clock);
  ASSERT_EQ(limiter.start("a.example", 1, 1), Admission::Admitted);
  EXPECT_EQ(limiter.start("a.example", 1, 1), Admission::TooManyConcurrent);
  EXPECT_EQ(limiter.start("b.example", 1, 1), Admission::Admitted);
}

TEST(CalloutRateLimiter, IdleDomainsAreSweptOutBeyondTheBound) {
  mail::ManualClock clock;
  CalloutRateLimiter limiter(clock, 4);
  for (int i = 0; i < 4; ++i) {
    const auto domain = "d" + std::to_string(i) + ".example";
    ASSERT_EQ(limiter.start(domain, 5, 5), Admission::Admitted);
    limiter.finish(domain);
  }
  ASSERT_EQ(limiter.start("busy.example", 5, 5), Admission::Admitted); // still running
  clock.advance(61s);
  ASSERT_EQ(limiter.start("new.example", 5, 5), Admission::Admitted);
  EXPECT_EQ(limiter.domains_tracked(), 2u); // busy.example and new.example
  EXPECT_EQ(limiter.running("busy.example"), 1u);
}

} // namespace
} // namespace backstop::delivery
