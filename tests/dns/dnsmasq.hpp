// dnsmasq: a real DNS server on a free loopback UDP port for resolver tests and benchmarks,
// authoritative for "test" (real NXDOMAIN and NODATA answers, never forwarding). Readiness
// is awaited by asking it, never by sleeping.
#pragma once

#include "dns/resolver.hpp"

#include <chrono>
#include <fcntl.h>
#include <netinet/in.h>
#include <random>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace backstop::dns::testing {

// True when nothing holds 127.0.0.1:port for this protocol.
inline bool port_is_free(int port, int type) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

// A loopback port free for UDP and TCP both (dnsmasq binds both), below the ephemeral range
// (32768 and up), so that no TCP connection of a test running beside this one can take it
// between this choice and dnsmasq's bind (that race failed ResolverTest under ctest -j2).
inline int free_udp_port() {
  std::random_device random;
  for (int tries = 0; tries < 1000; ++tries) {
    const int port = 20000 + static_cast<int>(random() % 12000u);
    if (port_is_free(port, SOCK_DGRAM) && port_is_free(port, SOCK_STREAM)) {
      return port;
    }
  }
  return 0;
}

// Options of a resolver that asks only 127.0.0.1:port.
inline ResolverOptions loopback_options(int port, std::chrono::milliseconds timeout, int tries) {
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  options.timeout = timeout;
  options.tries = tries;
  return options;
}

// True once a DNS server on 127.0.0.1:port answers a query for ns.test (within deadline).
inline bool answers_dns(int port, std::chrono::seconds deadline) {
  static const unsigned char query[] = {0x12, 0x34, 1, 0,   0,   1,   0,   0, 0, 0, 0, 0, 2,
                                        'n',  's',  4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    unsigned char reply[512];
    const auto got = ::recv(fd, reply, sizeof reply, 0);
    ::close(fd);
    if (got > 0) {
      return true;
    }
  }
  return false;
}

// How a test's dnsmasq answers, beyond its records.
struct DnsmasqOptions {
  // May add subnets ("test,127.0.0.0/8") whose reverse zones dnsmasq then serves (PTR).
  std::string auth_zone = "test";
  int auth_ttl = 60;  // the TTL of every answer
  bool quiet = false; // its start-up chatter on stderr dropped (a benchmark's output)
};

class Dnsmasq {
public:
  // records: dnsmasq options such as "--host-record=a.test,127.0.0.5". True once it answers.
  bool start(int port, const std::vector<std::string>& records,
             const DnsmasqOptions& options = {}) {
    std::vector<std::string> args = {"dnsmasq",
                                     "--no-daemon",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--conf-file=/dev/null",
                                     "--user=root",
                                     "--auth-server=ns.test,127.0.0.1",
                                     "--auth-zone=" + options.auth_zone,
                                     "--auth-ttl=" + std::to_string(options.auth_ttl),
                                     "--log-facility=/dev/null"};
    args.insert(args.end(), records.begin(), records.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL); // an orphan holding ctest's output pipe hangs ctest
      if (options.quiet) {
        ::dup2(::open("/dev/null", O_WRONLY), STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execvp("dnsmasq", argv.data());
      ::_exit(127);
    }
    return answers_dns(port, std::chrono::seconds(10));
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~Dnsmasq() { stop(); }

private:
  pid_t pid_ = -1;
};

} // namespace backstop::dns::testing

namespace backstop::dns::testing {

// A resolver that is down: reads every query, never answers, counts what arrived.
class SilentDns {
public:
  SilentDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentDns() { ::close(fd_); }
  int port() const { return port_; }
  // Datagrams received so far (drains the socket).
  int queries() {
    unsigned char buf[1024];
    while (::recv(fd_, buf, sizeof buf, 0) > 0) {
      ++count_;
    }
    return count_;
  }

private:
  int fd_ = -1;
  int port_ = 0;
  int count_ = 0;
};

} // namespace backstop::dns::testing
