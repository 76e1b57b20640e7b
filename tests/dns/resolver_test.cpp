// resolver_test: the c-ares resolver against a real dnsmasq on loopback: MX, addresses,
// NXDOMAIN vs NODATA vs temporary failure, and a cache that honours TTLs (injected clock).
#include "dns/dnsmasq.hpp"
#include "dns/resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::dns {
namespace {

// Generous: a loaded machine (ASan, two cores for five builds) must not turn an answer into a
// temporary failure. The no-server test checks its own bound.
ResolverOptions test_options(int port) {
  return testing::loopback_options(port, std::chrono::milliseconds(2000), 3);
}

class ResolverTest : public ::testing::Test {
protected:
  void SetUp() override {
    port_ = testing::free_udp_port();
    options_ = test_options(port_);
    ASSERT_TRUE(dnsmasq_.start(
        port_,
        {"--mx-host=mail.test,mx1.mail.test,10", "--mx-host=mail.test,MX2.Mail.Test,20",
         "--host-record=mx1.mail.test,127.0.0.5", "--host-record=mx2.mail.test,127.0.0.6,::1",
         "--mx-host=nullmx.test,.,0", "--host-record=plain.test,127.0.0.9"}))
        << "dnsmasq never answered";
  }

  template <typename T> T run(std::function<asio::awaitable<T>(Resolver&)> query) {
    asio::io_context io;
    auto created = Resolver::create(io.get_executor(), options_, clock_);
    EXPECT_TRUE(created.ok());
    auto resolver = std::move(created.value());
    T result{};
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          result = co_await query(*resolver);
          done = true;
        },
        asio::detached);
    // The resolver keeps its sockets watched, so the loop never runs dry: run until done.
    while (!done && io.run_one_for(std::chrono::seconds(5)) > 0) {
    }
    return result;
  }

  int port_ = 0;
  ResolverOptions options_;
  testing::Dnsmasq dnsmasq_;
  mail::ManualClock clock_{std::chrono::system_clock::now()};
};

TEST_F(ResolverTest, MxRecordsNormalised) {
  auto answer = run<MxAnswer>([](Resolver& r) { return r.mx("Mail.Test."); });
  ASSERT_EQ(answer.status, Status::Found);
  ASSERT_EQ(answer.records.size(), 2u);
  std::set<std::string> names;
  for (const auto& rec : answer.records) {
    names.insert(rec.exchange + "/" + std::to_string(rec.preference));
  }
  EXPECT_EQ(names, (std::set<std::string>{"mx1.mail.test/10", "mx2.mail.test/20"}));
}

TEST_F(ResolverTest, NullMx) {
  auto answer = run<MxAnswer>([](Resolver& r) { return r.mx("nullmx.test"); });
  ASSERT_EQ(answer.status, Status::Found);
  EXPECT_TRUE(answer.null_mx());
}

TEST_F(ResolverTest, NoDataVersusNxDomain) {
  EXPECT_EQ(run<MxAnswer>([](Resolver& r) { return r.mx("plain.test"); }).status, Status::NoData);
  EXPECT_EQ(run<MxAnswer>([](Resolver& r) { return r.mx("missing.test"); }).status,
            Status::NxDomain);
  EXPECT_EQ(run<AddressAnswer>([](Resolver& r) { return r.addresses("missing.test"); }).status,
            Status::NxDomain);
}

TEST_F(ResolverTest, AddressesBothFamilies) {
  auto answer = run<AddressAnswer>([](Resolver& r) { return r.addresses("mx2.mail.test"); });
  ASSERT_EQ(answer.status, Status::Found);
  std::set<std::string> text;
  for (const auto& a : answer.addresses) {
    text.insert(a.to_string());
  }
  EXPECT_EQ(text, (std::set<std::string>{"127.0.0.6", "::1"}));
}

TEST_F(ResolverTest, NoServerIsTemporaryFailureNotNonExistence) {
  dnsmasq_.stop();
  options_.timeout = std::chrono::milliseconds(300); // the bound below is ten times this
  options_.tries = 1;
  const auto started = std::chrono::steady_clock::now();
  auto answer = run<MxAnswer>([](Resolver& r) { return r.mx("mail.test"); });
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_FALSE(answer.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST_F(ResolverTest, CacheHonoursTtl) {
  asio::io_context io;
  auto resolver =
      std::move(Resolver::create(io.get_executor(), test_options(port_), clock_).value());
  auto ask = [&] {
    AddressAnswer result;
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          result = co_await resolver->addresses("plain.test");
          done = true;
        },
        asio::detached);
    io.restart();
    while (!done && io.run_one_for(std::chrono::seconds(5)) > 0) {
    }
    return result;
  };
  EXPECT_EQ(ask().status, Status::Found);
  dnsmasq_.stop();
  EXPECT_EQ(ask().status, Status::Found) << "answered from the cache within the TTL";
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(ask().status, Status::TempFail) << "the TTL of 60s is over";
}

} // namespace
} // namespace backstop::dns
