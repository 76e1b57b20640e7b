// down_domains_test: a domain is down until its time, with the reason, and a reload clears it.
#include "delivery/down_domains.hpp"

#include <gtest/gtest.h>

namespace backstop::delivery {
namespace {

using namespace std::chrono_literals;

TEST(DownDomains, DownUntilItsTimeWithTheReason) {
  DownDomains down;
  const auto now = DownDomains::Clock::now();
  down.mark("example.test", now + 60s, "mx1 did not answer recently");
  ASSERT_TRUE(down.why_down("example.test", now + 59s).has_value());
  EXPECT_EQ(*down.why_down("example.test", now), "mx1 did not answer recently");
  EXPECT_FALSE(down.why_down("example.test", now + 60s).has_value());
  EXPECT_FALSE(down.why_down("other.test", now).has_value());
}

TEST(DownDomains, ClearForgetsEveryDomain) {
  DownDomains down;
  const auto now = DownDomains::Clock::now();
  down.mark("a.test", now + 60s, "down");
  down.mark("b.test", now + 60s, "down");
  down.clear();
  EXPECT_FALSE(down.why_down("a.test", now).has_value());
  EXPECT_FALSE(down.why_down("b.test", now).has_value());
}

} // namespace
} // namespace backstop::delivery
