// resolver_ptr_test: PTR lookups of the c-ares resolver against a real dnsmasq on loopback
// (local records, --bogus-priv so an unknown loopback address is NXDOMAIN): names in order
// and lower case, several names, IPv6 nibble names, NXDOMAIN vs a server that is down.
#include "dns/resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <set>
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

class ResolverPtrTest : public ::testing::Test {
protected:
  void SetUp() override {
    port_ = free_udp_port();
    const std::string port = "--port=" + std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("dnsmasq", "dnsmasq", "--no-daemon", port.c_str(), "--listen-address=127.0.0.1",
               "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
               "--user=root", "--bogus-priv", "--local=/test/", "--local-ttl=60",
               "--host-record=Mail.Client.Test,127.0.0.2",
               "--ptr-record=7.0.0.127.in-addr.arpa,first.test",
               "--ptr-record=7.0.0.127.in-addr.arpa,second.test",
               "--host-record=v6.client.test,2001:db8::5", "--log-facility=/dev/null",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // dnsmasq's start-up time varies: ask until it answers.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until &&
           ptr("127.0.0.2").status == Status::TempFail) {
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  NameAnswer ptr(const std::string& address, int port = 0) {
    ResolverOptions options;
    options.servers = {"127.0.0.1:" + std::to_string(port == 0 ? port_ : port)};
    options.timeout = std::chrono::milliseconds(port == 0 ? 2000 : 200);
    options.tries = port == 0 ? 3 : 1;
    asio::io_context io;
    auto created = Resolver::create(io.get_executor(), options, clock_);
    EXPECT_TRUE(created.ok());
    auto resolver = std::move(created.value());
    NameAnswer result;
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          result = co_await resolver->ptr(asio::ip::make_address(address));
          done = true;
        },
        asio::detached);
    while (!done && io.run_one_for(std::chrono::seconds(5)) > 0) {
    }
    return result;
  }

  int port_ = 0;
  pid_t pid_ = -1;
  mail::ManualClock clock_{std::chrono::system_clock::now()};
};

TEST_F(ResolverPtrTest, NameOfAnIpv4Address) {
  const auto answer = ptr("127.0.0.2");
  ASSERT_EQ(answer.status, Status::Found) << answer.error;
  EXPECT_EQ(answer.names, std::vector<std::string>{"mail.client.test"});
}

TEST_F(ResolverPtrTest, SeveralNames) {
  const auto answer = ptr("127.0.0.7");
  ASSERT_EQ(answer.status, Status::Found) << answer.error;
  EXPECT_EQ(std::set<std::string>(answer.names.begin(), answer.names.end()),
            (std::set<std::string>{"first.test", "second.test"}));
}

TEST_F(ResolverPtrTest, NameOfAnIpv6Address) {
  const auto answer = ptr("2001:db8::5");
  ASSERT_EQ(answer.status, Status::Found) << answer.error;
  EXPECT_EQ(answer.names, std::vector<std::string>{"v6.client.test"});
}

TEST_F(ResolverPtrTest, NoNameIsNxDomain) { EXPECT_EQ(ptr("127.0.0.99").status, Status::NxDomain); }

TEST_F(ResolverPtrTest, ServerDownIsATemporaryFailure) {
  const auto answer = ptr("127.0.0.2", 1);
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_FALSE(answer.error.empty());
}

} // namespace
} // namespace backstop::dns
