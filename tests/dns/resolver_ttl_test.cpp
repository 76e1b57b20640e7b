// resolver_ttl_test: how long the resolver remembers, against a real dnsmasq on loopback
// with a chosen --auth-ttl: an MX answer lives for its record's TTL (bounded by min_ttl and
// max_ttl), and a temporary failure is remembered for temporary_failure_ttl, no longer.
// Time is a ManualClock; dnsmasq's readiness is awaited by asking it, never by sleeping.
#include "dns/dnsmasq.hpp"
#include "dns/resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <thread>

namespace backstop::dns {
namespace {

using namespace std::chrono_literals;

class ResolverTtlTest : public ::testing::Test {
protected:
  void SetUp() override { port_ = testing::free_udp_port(); }
  void TearDown() override { stop_dnsmasq(); }

  void start_dnsmasq(int ttl) {
    ASSERT_TRUE(dnsmasq_.start(
        port_, {"--mx-host=mail.test,mx1.mail.test,10", "--host-record=mx1.mail.test,127.0.0.5"},
        {.auth_ttl = ttl}))
        << "dnsmasq did not start";
  }
  void stop_dnsmasq() { dnsmasq_.stop(); }

  void make_resolver(ResolverOptions options = {}) {
    options.servers = {"127.0.0.1:" + std::to_string(port_)};
    options.timeout = 500ms;
    options.tries = 1;
    resolver_ = std::move(Resolver::create(io_.get_executor(), options, clock_).value());
  }

  Status mx_status() {
    Status status = Status::NoData;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          status = (co_await resolver_->mx("mail.test")).status;
          done = true;
        },
        asio::detached);
    io_.restart();
    // The resolver keeps its sockets watched, so the loop never runs dry: run until done.
    while (!done && io_.run_one_for(std::chrono::seconds(10)) > 0) {
    }
    EXPECT_TRUE(done) << "no answer within 10 s";
    return status;
  }

  // Asks once while dnsmasq runs, then stops it: from then on only the cache can answer.
  void cache_one_answer() {
    ASSERT_EQ(mx_status(), Status::Found);
    stop_dnsmasq();
  }

  asio::io_context io_;
  std::unique_ptr<Resolver> resolver_;
  int port_ = 0;
  testing::Dnsmasq dnsmasq_;
  mail::ManualClock clock_{std::chrono::system_clock::now()};
};

TEST_F(ResolverTtlTest, MxAnswerLivesForItsRecordTtl) {
  start_dnsmasq(120);
  make_resolver();
  cache_one_answer();
  clock_.advance(119s);
  EXPECT_EQ(mx_status(), Status::Found) << "within the record's TTL of 120 s";
  clock_.advance(2s);
  EXPECT_EQ(mx_status(), Status::TempFail) << "the TTL of 120 s is over: asked again";
}

TEST_F(ResolverTtlTest, ShortTtlIsRaisedToMinTtl) {
  start_dnsmasq(0);
  ResolverOptions options;
  options.min_ttl = 30s;
  make_resolver(options);
  cache_one_answer();
  clock_.advance(29s);
  EXPECT_EQ(mx_status(), Status::Found) << "a TTL of 0 is kept for min_ttl";
  clock_.advance(2s);
  EXPECT_EQ(mx_status(), Status::TempFail);
}

TEST_F(ResolverTtlTest, LongTtlIsCutToMaxTtl) {
  start_dnsmasq(604800); // a week
  ResolverOptions options;
  options.max_ttl = 3600s;
  make_resolver(options);
  cache_one_answer();
  clock_.advance(3599s);
  EXPECT_EQ(mx_status(), Status::Found);
  clock_.advance(2s);
  EXPECT_EQ(mx_status(), Status::TempFail) << "max_ttl bounds a week-long TTL";
}

TEST_F(ResolverTtlTest, TemporaryFailureIsRememberedBriefly) {
  make_resolver(); // nothing listens on the port yet: the first question fails
  EXPECT_EQ(mx_status(), Status::TempFail);
  start_dnsmasq(300);
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(mx_status(), Status::TempFail) << "the failure is remembered, DNS not asked";
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 400ms) << "answered without a wait";
  clock_.advance(ResolverOptions{}.temporary_failure_ttl + 1s);
  EXPECT_EQ(mx_status(), Status::Found) << "after temporary_failure_ttl DNS is asked again";
}

TEST_F(ResolverTtlTest, TemporaryFailuresAreNotKeptWhenTurnedOff) {
  ResolverOptions options;
  options.temporary_failure_ttl = 0s;
  make_resolver(options);
  EXPECT_EQ(mx_status(), Status::TempFail);
  start_dnsmasq(300);
  EXPECT_EQ(mx_status(), Status::Found);
}

TEST_F(ResolverTtlTest, ExpiredAnswersDoNotPileUp) {
  start_dnsmasq(300);
  make_resolver();
  auto ask_missing = [&](int from, int count) {
    int done = 0;
    for (int i = from; i < from + count; ++i) {
      asio::co_spawn(
          io_,
          [&, i]() -> asio::awaitable<void> {
            co_await resolver_->mx("missing" + std::to_string(i) + ".test");
            ++done;
          },
          asio::detached);
    }
    io_.restart();
    while (done < count && io_.run_one_for(std::chrono::seconds(10)) > 0) {
    }
    ASSERT_EQ(done, count);
  };
  ask_missing(0, 1000); // NXDOMAIN, each remembered for 5 minutes
  EXPECT_EQ(resolver_->remembered(), 1000u);
  clock_.advance(301s);
  ask_missing(1000, 24); // the 1024th answer stored sweeps out the expired
  EXPECT_EQ(resolver_->remembered(), 24u);
}

TEST_F(ResolverTtlTest, SpecialUseNamesAreAnsweredWithoutAsking) {
  make_resolver(); // no server at all: any question would be a temporary failure
  MxAnswer mx;
  AddressAnswer local;
  AddressAnswer invalid;
  bool done = false;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        mx = co_await resolver_->mx("localhost");
        local = co_await resolver_->addresses("LocalHost.");
        invalid = co_await resolver_->addresses("mx.example.invalid");
        done = true;
      },
      asio::detached);
  while (!done && io_.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(mx.status, Status::NxDomain);
  ASSERT_EQ(local.status, Status::Found);
  ASSERT_EQ(local.addresses.size(), 2u);
  EXPECT_TRUE(local.addresses[0].is_loopback());
  EXPECT_TRUE(local.addresses[1].is_loopback());
  EXPECT_EQ(invalid.status, Status::NxDomain);
}

TEST(ResolverInFlight, ConcurrentLookupsOfOneNameShareOneQuery) {
  testing::SilentDns silent;
  asio::io_context io;
  mail::ManualClock clock{std::chrono::system_clock::now()};
  const auto options = testing::loopback_options(silent.port(), 300ms, 1);
  auto resolver = std::move(Resolver::create(io.get_executor(), options, clock).value());
  constexpr int sessions = 5;
  int done = 0;
  std::vector<Status> statuses;
  for (int i = 0; i < sessions; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          statuses.push_back((co_await resolver->mx("mail.test")).status);
          ++done;
        },
        asio::detached);
  }
  const auto started = std::chrono::steady_clock::now();
  while (done < sessions && io.run_one_for(std::chrono::seconds(10)) > 0) {
  }
  ASSERT_EQ(done, sessions);
  EXPECT_EQ(statuses, std::vector<Status>(sessions, Status::TempFail));
  EXPECT_EQ(silent.queries(), 1) << "the five sessions waited for one question";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "one timeout, not five in a row";
}

} // namespace
} // namespace backstop::dns
