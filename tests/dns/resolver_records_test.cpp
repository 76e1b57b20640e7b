// resolver_records_test: the record types checks ask for (A, AAAA, TXT, PTR), against a real
// dnsmasq on loopback: answers, NXDOMAIN vs NODATA vs temporary failure (a closed port), and
// the same memory as MX and addresses (answers held for their TTL).
#include "dns/dnsmasq.hpp"
#include "dns/resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <set>

namespace backstop::dns {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> records = {
    "--host-record=host4.test,127.0.0.7", "--host-record=host6.test,2001:db8::1",
    "--host-record=both.test,127.0.0.8,2001:db8::8",
    // Two TXT records, the first of two character-strings (SPF's way to exceed 255 bytes).
    "--txt-record=multi.test,v=spf1 ip4:192.0.2.0/24,~all", "--txt-record=multi.test,second",
    "--ptr-record=7.0.0.127.in-addr.arpa,Host4.Test",
    "--ptr-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,"
    "host6.test"};

class ResolverRecordsTest : public ::testing::Test {
protected:
  void SetUp() override {
    port_ = testing::free_udp_port();
    ASSERT_TRUE(dnsmasq_.start(port_, records, {.auth_zone = "test,127.0.0.0/8,2001:db8::/32"}))
        << "dnsmasq did not start";
    make_resolver();
  }

  void make_resolver() {
    const auto options = testing::loopback_options(port_, 1000ms, 2);
    resolver_ = std::move(Resolver::create(io_.get_executor(), options, clock_).value());
  }

  template <typename T> T run(std::function<asio::awaitable<T>(Resolver&)> query) {
    T result{};
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          result = co_await query(*resolver_);
          done = true;
        },
        asio::detached);
    io_.restart();
    // The resolver keeps its sockets watched, so the loop never runs dry: run until done.
    while (!done && io_.run_one_for(10s) > 0) {
    }
    EXPECT_TRUE(done) << "no answer within 10 s";
    return result;
  }

  static std::set<std::string> texts(const AddressAnswer& answer) {
    std::set<std::string> out;
    for (const auto& a : answer.addresses) {
      out.insert(a.to_string());
    }
    return out;
  }

  asio::io_context io_;
  int port_ = 0;
  testing::Dnsmasq dnsmasq_;
  mail::ManualClock clock_{std::chrono::system_clock::now()};
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(ResolverRecordsTest, AAskedAlone) {
  const auto both = run<AddressAnswer>([](Resolver& r) { return r.a("Both.Test."); });
  ASSERT_EQ(both.status, Status::Found);
  EXPECT_EQ(texts(both), (std::set<std::string>{"127.0.0.8"}));
  EXPECT_EQ(run<AddressAnswer>([](Resolver& r) { return r.a("host6.test"); }).status,
            Status::NoData);
  EXPECT_EQ(run<AddressAnswer>([](Resolver& r) { return r.a("missing.test"); }).status,
            Status::NxDomain);
}

TEST_F(ResolverRecordsTest, AaaaAskedAlone) {
  const auto both = run<AddressAnswer>([](Resolver& r) { return r.aaaa("both.test"); });
  ASSERT_EQ(both.status, Status::Found);
  EXPECT_EQ(texts(both), (std::set<std::string>{"2001:db8::8"}));
  EXPECT_EQ(run<AddressAnswer>([](Resolver& r) { return r.aaaa("host4.test"); }).status,
            Status::NoData);
  EXPECT_EQ(run<AddressAnswer>([](Resolver& r) { return r.aaaa("missing.test"); }).status,
            Status::NxDomain);
}

TEST_F(ResolverRecordsTest, TxtStringsOfOneRecordAreJoined) {
  const auto answer = run<TextAnswer>([](Resolver& r) { return r.txt("multi.test"); });
  ASSERT_EQ(answer.status, Status::Found);
  EXPECT_EQ(std::set<std::string>(answer.records.begin(), answer.records.end()),
            (std::set<std::string>{"v=spf1 ip4:192.0.2.0/24~all", "second"}));
}

TEST_F(ResolverRecordsTest, TxtNoDataVersusNxDomain) {
  EXPECT_EQ(run<TextAnswer>([](Resolver& r) { return r.txt("host4.test"); }).status,
            Status::NoData);
  EXPECT_EQ(run<TextAnswer>([](Resolver& r) { return r.txt("missing.test"); }).status,
            Status::NxDomain);
}

TEST_F(ResolverRecordsTest, PtrOfIpv4) {
  const auto answer =
      run<NameAnswer>([](Resolver& r) { return r.ptr(asio::ip::make_address("127.0.0.7")); });
  ASSERT_EQ(answer.status, Status::Found) << answer.error;
  EXPECT_EQ(answer.names, (std::vector<std::string>{"host4.test"})) << "lower case, no dot";
}

TEST_F(ResolverRecordsTest, PtrOfIpv6UsesNibbles) {
  const auto answer =
      run<NameAnswer>([](Resolver& r) { return r.ptr(asio::ip::make_address("2001:db8::1")); });
  ASSERT_EQ(answer.status, Status::Found);
  EXPECT_EQ(answer.names, (std::vector<std::string>{"host6.test"}));
}

TEST_F(ResolverRecordsTest, PtrOfMappedIpv4IsTheIpv4Name) {
  const auto answer = run<NameAnswer>(
      [](Resolver& r) { return r.ptr(asio::ip::make_address("::ffff:127.0.0.7")); });
  ASSERT_EQ(answer.status, Status::Found);
  EXPECT_EQ(answer.names, (std::vector<std::string>{"host4.test"}));
}

TEST_F(ResolverRecordsTest, ClosedPortIsTemporaryFailureForEveryType) {
  dnsmasq_.stop();
  const auto started = std::chrono::steady_clock::now();
  const auto txt = run<TextAnswer>([](Resolver& r) { return r.txt("multi.test"); });
  EXPECT_EQ(txt.status, Status::TempFail);
  EXPECT_FALSE(txt.error.empty());
  const auto ptr =
      run<NameAnswer>([](Resolver& r) { return r.ptr(asio::ip::make_address("127.0.0.7")); });
  EXPECT_EQ(ptr.status, Status::TempFail);
  EXPECT_FALSE(ptr.error.empty());
  const auto a = run<AddressAnswer>([](Resolver& r) { return r.a("host4.test"); });
  EXPECT_EQ(a.status, Status::TempFail);
  const auto aaaa = run<AddressAnswer>([](Resolver& r) { return r.aaaa("host6.test"); });
  EXPECT_EQ(aaaa.status, Status::TempFail);
  // Four questions, each at most two tries of one second; a hang would take far longer.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

TEST_F(ResolverRecordsTest, AnswersAreRememberedForTheirTtl) {
  ASSERT_EQ(run<TextAnswer>([](Resolver& r) { return r.txt("multi.test"); }).status, Status::Found);
  ASSERT_EQ(run<NameAnswer>([](Resolver& r) {
              return r.ptr(asio::ip::make_address("127.0.0.7"));
            }).status,
            Status::Found);
  ASSERT_EQ(run<AddressAnswer>([](Resolver& r) { return r.a("host4.test"); }).status,
            Status::Found);
  ASSERT_EQ(run<AddressAnswer>([](Resolver& r) { return r.aaaa("missing.test"); }).status,
            Status::NxDomain);
  EXPECT_EQ(resolver_->remembered(), 4u);
  dnsmasq_.stop();
  EXPECT_EQ(run<TextAnswer>([](Resolver& r) { return r.txt("multi.test"); }).status, Status::Found)
      << "from memory within the TTL";
  EXPECT_EQ(run<NameAnswer>([](Resolver& r) {
              return r.ptr(asio::ip::make_address("127.0.0.7"));
            }).status,
            Status::Found);
  EXPECT_EQ(run<AddressAnswer>([](Resolver& r) { return r.aaaa("missing.test"); }).status,
            Status::NxDomain)
      << "a negative answer is remembered too";
  clock_.advance(61s);
  EXPECT_EQ(run<TextAnswer>([](Resolver& r) { return r.txt("multi.test"); }).status,
            Status::TempFail)
      << "the TTL of 60 s is over: asked again";
}

TEST_F(ResolverRecordsTest, SpecialUseNamesAreAnsweredWithoutAsking) {
  dnsmasq_.stop(); // any question would be a temporary failure now
  const auto a = run<AddressAnswer>([](Resolver& r) { return r.a("LocalHost."); });
  ASSERT_EQ(a.status, Status::Found);
  EXPECT_EQ(texts(a), (std::set<std::string>{"127.0.0.1"}));
  const auto aaaa = run<AddressAnswer>([](Resolver& r) { return r.aaaa("localhost"); });
  ASSERT_EQ(aaaa.status, Status::Found);
  EXPECT_EQ(texts(aaaa), (std::set<std::string>{"::1"}));
  EXPECT_EQ(run<TextAnswer>([](Resolver& r) { return r.txt("spf.example.invalid"); }).status,
            Status::NxDomain);
}

TEST(ResolverRecordsInFlight, ConcurrentQuestionsOfOneNameShareOneQuery) {
  testing::SilentDns silent;
  asio::io_context io;
  mail::ManualClock clock{std::chrono::system_clock::now()};
  const auto options = testing::loopback_options(silent.port(), 300ms, 1);
  auto resolver = std::move(Resolver::create(io.get_executor(), options, clock).value());
  constexpr int sessions = 4;
  int done = 0;
  std::vector<Status> statuses;
  for (int i = 0; i < sessions; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          statuses.push_back((co_await resolver->txt("multi.test")).status);
          statuses.push_back(
              (co_await resolver->ptr(asio::ip::make_address("2001:db8::1"))).status);
          ++done;
        },
        asio::detached);
  }
  while (done < sessions && io.run_one_for(10s) > 0) {
  }
  ASSERT_EQ(done, sessions);
  EXPECT_EQ(statuses, std::vector<Status>(2 * sessions, Status::TempFail));
  EXPECT_EQ(silent.queries(), 2) << "one TXT and one PTR question for all four askers";
}

} // namespace
} // namespace backstop::dns
