// retry_schedule_test: back-off doubling up to the cap, expiry and delay notices.
#include "delivery/retry_schedule.hpp"

#include <gtest/gtest.h>

namespace backstop::delivery {
namespace {

TEST(RetrySchedule, DoublesUpToTheCap) {
  RetrySchedule s({std::chrono::seconds(300), std::chrono::seconds(3600),
                   std::chrono::seconds(4 * 3600), std::chrono::seconds(5 * 86400)});
  EXPECT_EQ(s.next_attempt(1000, 1), 1300);
  EXPECT_EQ(s.next_attempt(1000, 2), 1600);
  EXPECT_EQ(s.next_attempt(1000, 3), 2200);
  EXPECT_EQ(s.next_attempt(1000, 4), 3400);
  EXPECT_EQ(s.next_attempt(1000, 5), 4600);
  EXPECT_EQ(s.next_attempt(1000, 500), 4600);
}

TEST(RetrySchedule, ExpiryAndDelayNotice) {
  RetrySchedule s({std::chrono::seconds(60), std::chrono::seconds(60), std::chrono::seconds(100),
                   std::chrono::seconds(1000)});
  EXPECT_FALSE(s.delay_notice_due(0, 99));
  EXPECT_TRUE(s.delay_notice_due(0, 100));
  EXPECT_FALSE(s.expired(0, 999));
  EXPECT_TRUE(s.expired(0, 1000));
  RetrySchedule off({std::chrono::seconds(60), std::chrono::seconds(60), std::chrono::seconds(0),
                     std::chrono::seconds(1000)});
  EXPECT_FALSE(off.delay_notice_due(0, 1000000));
}

} // namespace
} // namespace backstop::delivery
