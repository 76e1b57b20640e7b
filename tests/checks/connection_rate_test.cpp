// connection_rate_test: connections per minute per client address and per network (/24,
// /64 by default), refused at connect with 421 4.7.0 and a disconnect; tokens come back with
// time (a manual clock); memory is bounded; one limit holds across event loops.
#include "connection_checks_fixture.hpp"

#include <atomic>
#include <thread>

namespace backstop::checks::test {
namespace {

using namespace std::chrono_literals;
using policy::Stage;

class ConnectionRateTest : public CheckTest {
protected:
  bool connects(const policy::Check& check, const std::string& ip) {
    return run(check, Stage::Connect, context(ip)).accepted();
  }
};

TEST_F(ConnectionRateTest, AddressOverItsRateIsDeferredAndDropped) {
  auto check = make("connection_rate", {{"address_per_minute", std::uint64_t{3}}});
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->runs_at(Stage::Connect));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(connects(*check, "203.0.113.5")) << i;
  }
  const auto v = run(*check, Stage::Connect, context("203.0.113.5"));
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_EQ(v.reply.code, 421);
  EXPECT_EQ(v.reply.enhanced, "4.7.0");
  EXPECT_TRUE(v.disconnect);
  EXPECT_EQ(v.check, "connection_rate");
  EXPECT_NE(v.reason.find("203.0.113.5"), std::string::npos) << v.reason;
  EXPECT_TRUE(connects(*check, "203.0.113.6")) << "another address has its own allowance";
}

TEST_F(ConnectionRateTest, AllowanceComesBackWithTime) {
  auto check = make("connection_rate", {{"address_per_minute", std::uint64_t{3}}});
  for (int i = 0; i < 3; ++i) {
    connects(*check, "203.0.113.5");
  }
  EXPECT_FALSE(connects(*check, "203.0.113.5"));
  clock_.advance(20s); // 3 a minute: one every 20 seconds
  EXPECT_TRUE(connects(*check, "203.0.113.5"));
  EXPECT_FALSE(connects(*check, "203.0.113.5"));
  clock_.advance(10min);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(connects(*check, "203.0.113.5")) << "a long pause refills the burst, no more";
  }
  EXPECT_FALSE(connects(*check, "203.0.113.5"));
}

TEST_F(ConnectionRateTest, NetworkSharesOneAllowance) {
  auto check = make("connection_rate", {{"network_per_minute", std::uint64_t{4}}});
  for (int i = 1; i <= 4; ++i) {
    EXPECT_TRUE(connects(*check, "198.51.100." + std::to_string(i))) << i;
  }
  const auto v = run(*check, Stage::Connect, context("198.51.100.200"));
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_NE(v.reason.find("198.51.100.0/24"), std::string::npos) << v.reason;
  EXPECT_TRUE(connects(*check, "198.51.101.1")) << "the next /24 is another network";
}

TEST_F(ConnectionRateTest, Ipv6NetworksAreSlash64ByDefaultAndConfigurable) {
  auto check = make("connection_rate", {{"network_per_minute", std::uint64_t{1}}});
  EXPECT_TRUE(connects(*check, "2001:db8:1:2::1"));
  EXPECT_FALSE(connects(*check, "2001:db8:1:2:ffff::9"));
  EXPECT_TRUE(connects(*check, "2001:db8:1:3::1"));

  auto wide = make("connection_rate", {{"network_per_minute", std::uint64_t{1}},
                                       {"ipv6_prefix", std::uint64_t{48}},
                                       {"ipv4_prefix", std::uint64_t{16}}});
  EXPECT_TRUE(connects(*wide, "2001:db8:1:2::1"));
  EXPECT_FALSE(connects(*wide, "2001:db8:1:3::1"));
  EXPECT_TRUE(connects(*wide, "198.51.100.1"));
  EXPECT_FALSE(connects(*wide, "198.51.7.1"));
}

TEST_F(ConnectionRateTest, Ipv4MappedClientCountsAsItsIpv4Address) {
  auto check = make("connection_rate", {{"address_per_minute", std::uint64_t{1}}});
  EXPECT_TRUE(connects(*check, "203.0.113.5"));
  EXPECT_FALSE(connects(*check, "::ffff:203.0.113.5"));
}

TEST_F(ConnectionRateTest, TrackedAddressesAreCappedOldestForgottenFirst) {
  auto check = make("connection_rate",
                    {{"address_per_minute", std::uint64_t{1}}, {"max_tracked", std::uint64_t{2}}});
  EXPECT_TRUE(connects(*check, "203.0.113.1"));
  EXPECT_TRUE(connects(*check, "203.0.113.2"));
  EXPECT_TRUE(connects(*check, "203.0.113.3")); // .1, seen longest ago, is forgotten
  EXPECT_TRUE(connects(*check, "203.0.113.1"));
  EXPECT_FALSE(connects(*check, "203.0.113.3")) << "the newest are still remembered";
}

TEST_F(ConnectionRateTest, OffWithoutALimit) { EXPECT_EQ(make("connection_rate", {}), nullptr); }

TEST_F(ConnectionRateTest, PrefixOutOfRangeIsAConfigError) {
  const auto errors = errors_of("connection_rate", {{"network_per_minute", std::uint64_t{1}},
                                                    {"ipv4_prefix", std::uint64_t{33}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("ipv4_prefix"), std::string::npos) << errors[0];
}

// Sessions of every event loop ask the same check: exactly the allowance gets in.
TEST_F(ConnectionRateTest, OneAllowanceAcrossLoops) {
  auto check = make("connection_rate", {{"address_per_minute", std::uint64_t{100}}});
  std::atomic<int> accepted{0};
  std::vector<std::thread> loops;
  for (int t = 0; t < 4; ++t) {
    loops.emplace_back([&] {
      asio::io_context io;
      for (int i = 0; i < 50; ++i) {
        auto c = context("203.0.113.5");
        c.executor = io.get_executor();
        asio::co_spawn(
            io, check->check(Stage::Connect, c),
            [&accepted](std::exception_ptr, mail::Verdict v) { accepted += v.accepted() ? 1 : 0; });
        io.run();
        io.restart();
      }
    });
  }
  for (auto& t : loops) {
    t.join();
  }
  EXPECT_EQ(accepted.load(), 100);
}

} // namespace
} // namespace backstop::checks::test
