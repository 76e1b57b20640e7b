// sender_callout_test: SenderCallout against a real SMTP peer on a loopback port (a few
// lines on a thread): the conversation it holds, what each reply means, the deadlines when
// the peer stalls, the rate limit, and what is never asked. The Router is static: MX
// selection has its own tests and the black-box tests use real DNS.
#include "delivery/sender_callout.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <future>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace backstop::delivery {
namespace {

using namespace std::chrono_literals;
using policy::AnswerScope;
using policy::SenderAnswer;

// Recipients starting with "unknown" get 550 5.1.1, "grey" 451, others 250. stall_rcpt:
// RCPT is never answered; refuse_null: MAIL FROM:<> gets 550.
class Peer {
public:
  explicit Peer(bool stall_rcpt = false, bool refuse_null = false)
      : stall_rcpt_(stall_rcpt), refuse_null_(refuse_null) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_, 8);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Peer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::vector<std::string> commands() const {
    std::lock_guard lock(mutex_);
    return commands_;
  }

private:
  void serve() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      ++connections_;
      converse(fd);
      ::close(fd);
    }
  }
  static void say(int fd, const std::string& text) { ::send(fd, text.data(), text.size(), 0); }
  std::string answer(const std::string& line) {
    const std::string verb = line.substr(0, 4);
    if (verb == "EHLO") {
      return "250-peer.example.test\r\n250 ENHANCEDSTATUSCODES\r\n";
    }
    if (verb == "MAIL") {
      return refuse_null_ && line.find("<>") != std::string::npos
                 ? "550 5.7.1 <>: null sender refused here\r\n"
                 : "250 2.1.0 Ok\r\n";
    }
    if (verb == "RCPT") {
      if (stall_rcpt_) {
        return "";
      }
      const auto local = line.substr(line.find('<') + 1);
      if (local.rfind("unknown", 0) == 0) {
        return "550 5.1.1 <" + local + " User unknown in local recipient table\r\n";
      }
      return local.rfind("grey", 0) == 0 ? "451 4.7.1 greylisted, try later\r\n"
                                         : "250 2.1.5 Ok\r\n";
    }
    if (verb == "QUIT") {
      return "221 2.0.0 Bye\r\n";
    }
    return "250 2.0.0 Ok\r\n";
  }
  void converse(int fd) {
    say(fd, "220 peer.example.test ESMTP\r\n");
    std::string in;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return;
      }
      in.append(buf, static_cast<std::size_t>(n));
      for (auto eol = in.find("\r\n"); eol != std::string::npos; eol = in.find("\r\n")) {
        const std::string line = in.substr(0, eol);
        in.erase(0, eol + 2);
        {
          std::lock_guard lock(mutex_);
          commands_.push_back(line);
        }
        const auto reply = answer(line);
        if (reply.empty()) {
          while (::recv(fd, buf, sizeof buf, 0) > 0) {
          }
          return; // stalled until the client hung up
        }
        say(fd, reply);
        if (reply.rfind("221", 0) == 0) {
          return;
        }
      }
    }
  }

  bool stall_rcpt_;
  bool refuse_null_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> commands_;
  std::thread thread_;
};

class StaticRouter final : public Router {
public:
  explicit StaticRouter(std::uint16_t port) : port_(port) {}
  asio::awaitable<Route> route(const std::string& domain) override {
    ++routed;
    Route r;
    r.hops.push_back({"mx." + domain, {asio::ip::make_address("127.0.0.1"), port_}});
    co_return r;
  }
  std::atomic<int> routed{0};

private:
  std::uint16_t port_;
};

class SenderCalloutTest : public ::testing::Test {
protected:
  void start(std::uint16_t port) {
    router_ = std::make_unique<StaticRouter>(port);
    callout_ = std::make_unique<SenderCallout>(
        loop_, *router_, clock_, SenderCalloutOptions{"mx2.example.test", nullptr, {}},
        std::set<std::string>{"example.test"}, nullptr);
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(loop_);
      loop_.run();
    });
  }
  void TearDown() override {
    loop_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  policy::SenderProbeAnswer probe(mail::Address address) {
    return asio::co_spawn(loop_, callout_->probe(std::move(address), limits_), asio::use_future)
        .get();
  }

  asio::io_context loop_;
  mail::ManualClock clock_;
  policy::SenderProbeLimits limits_;
  std::unique_ptr<StaticRouter> router_;
  std::unique_ptr<SenderCallout> callout_;
  std::thread thread_;
};

TEST_F(SenderCalloutTest, ExistingSenderIsAcceptedWithTheNullSender) {
  Peer peer;
  start(peer.port());
  const auto a = probe({"alice", "sender.test"});
  EXPECT_EQ(a.answer, SenderAnswer::Accepts);
  EXPECT_EQ(a.code, 250);
  EXPECT_TRUE(a.asked);
  const auto commands = peer.commands();
  ASSERT_GE(commands.size(), 3u);
  EXPECT_EQ(commands[0], "EHLO mx2.example.test");
  EXPECT_EQ(commands[1], "MAIL FROM:<>");
  EXPECT_EQ(commands[2], "RCPT TO:<alice@sender.test>");
}

TEST_F(SenderCalloutTest, UnknownSenderIsRefusedWithTheRemoteReply) {
  Peer peer;
  start(peer.port());
  const auto a = probe({"unknown.bob", "sender.test"});
  EXPECT_EQ(a.answer, SenderAnswer::Refuses);
  EXPECT_EQ(a.scope, AnswerScope::Address);
  EXPECT_EQ(a.code, 550);
  EXPECT_NE(a.reply.find("User unknown in local recipient table"), std::string::npos) << a.reply;
}

TEST_F(SenderCalloutTest, RefusedNullSenderIsADomainWideRefusal) {
  Peer peer(false, true);
  start(peer.port());
  const auto a = probe({"alice", "sender.test"});
  EXPECT_EQ(a.answer, SenderAnswer::Refuses);
  EXPECT_EQ(a.scope, AnswerScope::Domain);
  EXPECT_NE(a.reply.find("null sender refused"), std::string::npos) << a.reply;
}

TEST_F(SenderCalloutTest, TemporaryRefusalCannotTell) {
  Peer peer;
  start(peer.port());
  const auto a = probe({"grey", "sender.test"});
  EXPECT_EQ(a.answer, SenderAnswer::CannotTell);
  EXPECT_EQ(a.scope, AnswerScope::Address);
  EXPECT_NE(a.reply.find("greylisted"), std::string::npos) << a.reply;
}

TEST_F(SenderCalloutTest, StalledMxCannotTellWithinTheDeadline) {
  Peer peer(true);
  start(peer.port());
  limits_.timeout = 2s;
  limits_.reply_timeout = 10s; // the whole deadline must cut the RCPT wait short
  const auto started = std::chrono::steady_clock::now();
  const auto a = probe({"alice", "sender.test"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(a.answer, SenderAnswer::CannotTell);
  EXPECT_EQ(a.scope, AnswerScope::Domain);
  EXPECT_LT(took, 6s);
  EXPECT_NE(a.reply.find("timed out"), std::string::npos) << a.reply;
}

TEST_F(SenderCalloutTest, OverTheRateLimitThePeerIsNotContacted) {
  Peer peer;
  start(peer.port());
  limits_.per_minute_per_domain = 2;
  EXPECT_EQ(probe({"a", "sender.test"}).answer, SenderAnswer::Accepts);
  EXPECT_EQ(probe({"b", "sender.test"}).answer, SenderAnswer::Accepts);
  const auto limited = probe({"c", "sender.test"});
  EXPECT_EQ(limited.answer, SenderAnswer::CannotTell);
  EXPECT_FALSE(limited.asked);
  EXPECT_NE(limited.reply.find("rate limit"), std::string::npos) << limited.reply;
  EXPECT_EQ(peer.connections(), 2);
  EXPECT_EQ(probe({"d", "other.test"}).answer, SenderAnswer::Accepts); // another domain
  clock_.advance(60s);
  EXPECT_EQ(probe({"c", "sender.test"}).answer, SenderAnswer::Accepts);
  EXPECT_EQ(peer.connections(), 4);
}

TEST_F(SenderCalloutTest, OverTheConcurrencyLimitTheAnswerComesAtOnce) {
  Peer peer(true);
  start(peer.port());
  limits_.concurrent_per_domain = 1;
  limits_.timeout = 3s;
  auto first =
      asio::co_spawn(loop_, callout_->probe({"a", "sender.test"}, limits_), asio::use_future);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (peer.commands().size() < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms); // polling for the first callout's RCPT to arrive
  }
  ASSERT_GE(peer.commands().size(), 3u);
  const auto started = std::chrono::steady_clock::now();
  const auto second = probe({"b", "sender.test"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s); // not behind the stalled one
  EXPECT_EQ(second.answer, SenderAnswer::CannotTell);
  EXPECT_FALSE(second.asked);
  EXPECT_NE(second.reply.find("1 callouts at once"), std::string::npos) << second.reply;
  EXPECT_EQ(first.get().answer, SenderAnswer::CannotTell); // the stalled one, at its deadline
  EXPECT_EQ(peer.connections(), 1);
}

TEST_F(SenderCalloutTest, NeverAsksForTheNullSenderOrADomainWeBackUp) {
  Peer peer;
  start(peer.port());
  for (const auto& address :
       {mail::Address{}, mail::Address{"x", "example.test"}, mail::Address{"x", "host.localhost"},
        mail::Address{"x", "[127.0.0.1]"}}) {
    const auto a = probe(address);
    EXPECT_EQ(a.answer, SenderAnswer::CannotTell) << address.to_string();
    EXPECT_FALSE(a.asked);
  }
  EXPECT_EQ(router_->routed.load(), 0);
  EXPECT_EQ(peer.connections(), 0);
}

} // namespace
} // namespace backstop::delivery
