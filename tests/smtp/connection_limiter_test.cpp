// connection_limiter_test: concurrent sessions overall, per client address and per client
// network (/24, /64 by default); a slot comes back when its Admission ends.
#include "smtp/connection_limiter.hpp"

#include <gtest/gtest.h>
#include <vector>

namespace backstop::smtp {
namespace {

TEST(ConnectionLimiterTest, NetworkLimitCountsEveryAddressOfTheNetwork) {
  ConnectionLimiter limiter(100, 10, NetworkLimit{3, 24, 64});
  std::vector<Admission> held(3);
  EXPECT_EQ(limiter.admit("198.51.100.1", held[0]), AdmitResult::Admitted);
  EXPECT_EQ(limiter.admit("198.51.100.2", held[1]), AdmitResult::Admitted);
  EXPECT_EQ(limiter.admit("198.51.100.3", held[2]), AdmitResult::Admitted);
  Admission more;
  EXPECT_EQ(limiter.admit("198.51.100.4", more), AdmitResult::TooManyFromNetwork);
  EXPECT_EQ(limiter.admit("198.51.101.4", more), AdmitResult::Admitted) << "another /24";
  EXPECT_EQ(limiter.active(), 4u);
}

TEST(ConnectionLimiterTest, NetworkSlotComesBackWhenTheSessionEnds) {
  ConnectionLimiter limiter(100, 10, NetworkLimit{1, 24, 64});
  {
    Admission first;
    ASSERT_EQ(limiter.admit("198.51.100.1", first), AdmitResult::Admitted);
    Admission second;
    EXPECT_EQ(limiter.admit("198.51.100.2", second), AdmitResult::TooManyFromNetwork);
  }
  Admission again;
  EXPECT_EQ(limiter.admit("198.51.100.2", again), AdmitResult::Admitted);
  EXPECT_EQ(limiter.active(), 1u);
}

TEST(ConnectionLimiterTest, Ipv6NetworksUseTheirPrefix) {
  ConnectionLimiter limiter(100, 10, NetworkLimit{1, 24, 64});
  Admission a, b, c;
  EXPECT_EQ(limiter.admit("2001:db8:1:2::1", a), AdmitResult::Admitted);
  EXPECT_EQ(limiter.admit("2001:db8:1:2::ff", b), AdmitResult::TooManyFromNetwork);
  EXPECT_EQ(limiter.admit("2001:db8:1:3::1", c), AdmitResult::Admitted);
}

TEST(ConnectionLimiterTest, WithoutANetworkLimitOnlyAddressesCount) {
  ConnectionLimiter limiter(100, 1);
  Admission a, b, c;
  EXPECT_EQ(limiter.admit("198.51.100.1", a), AdmitResult::Admitted);
  EXPECT_EQ(limiter.admit("198.51.100.2", b), AdmitResult::Admitted);
  EXPECT_EQ(limiter.admit("198.51.100.1", c), AdmitResult::TooManyFromIp);
}

} // namespace
} // namespace backstop::smtp
