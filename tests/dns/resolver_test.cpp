// resolver_test: the c-ares resolver against a real dnsmasq on loopback: MX, addresses,
// NXDOMAIN vs NODATA vs temporary failure, and a cache that honours TTLs (injected clock).
#include "dns/resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace backstop::dns {
namespace {

int free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True once a DNS server on 127.0.0.1:port answers an A query for plain.test (any reply
// with our query id counts), polled until the deadline: dnsmasq's start-up time varies.
bool dns_answers(int port, std::chrono::seconds deadline) {
  const unsigned char query[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 5,    'p',  'l',  'a',  'i',  'n',  4,    't',
                                 'e',  's',  't',  0,    0x00, 0x01, 0x00, 0x01};
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval wait{0, 100 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const auto until = std::chrono::steady_clock::now() + deadline;
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < until) {
    ::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    unsigned char reply[512];
    const auto n = ::recv(fd, reply, sizeof reply, 0);
    answered = n >= 2 && reply[0] == 0x12 && reply[1] == 0x34;
  }
  ::close(fd);
  return answered;
}

// Generous: a loaded machine (ASan, two cores for five builds) must not turn an answer into a
// temporary failure. The no-server test checks its own bound.
ResolverOptions test_options(int port) {
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  options.timeout = std::chrono::milliseconds(2000);
  options.tries = 3;
  return options;
}

class ResolverTest : public ::testing::Test {
protected:
  void SetUp() override {
    port_ = free_udp_port();
    options_ = test_options(port_);
    start_dnsmasq();
  }
  void TearDown() override { stop_dnsmasq(); }

  void start_dnsmasq() {
    const std::string port = "--port=" + std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("dnsmasq", "dnsmasq", "--no-daemon", port.c_str(), "--listen-address=127.0.0.1",
               "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
               "--user=root", "--auth-server=ns.test,127.0.0.1", "--auth-zone=test",
               "--auth-ttl=60", "--mx-host=mail.test,mx1.mail.test,10",
               "--mx-host=mail.test,MX2.Mail.Test,20", "--host-record=mx1.mail.test,127.0.0.5",
               "--host-record=mx2.mail.test,127.0.0.6,::1", "--mx-host=nullmx.test,.,0",
               "--host-record=plain.test,127.0.0.9", "--log-facility=/dev/null",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ASSERT_TRUE(dns_answers(port_, std::chrono::seconds(10))) << "dnsmasq never answered";
  }
  void stop_dnsmasq() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
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
  pid_t pid_ = -1;
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
  stop_dnsmasq();
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
  stop_dnsmasq();
  EXPECT_EQ(ask().status, Status::Found) << "answered from the cache within the TTL";
  clock_.advance(std::chrono::seconds(61));
  EXPECT_EQ(ask().status, Status::TempFail) << "the TTL of 60s is over";
}

} // namespace
} // namespace backstop::dns
