// scheduler_round_test: a delivery round always ends. A delivery that throws (here: the
// clock, read when the result is applied) must not leave its domain stuck: the round ends,
// the message stays queued, and a flush makes a new attempt. The peer is a real SMTP
// server on a loopback port, a few lines on a thread.
#include "delivery/scheduler.hpp"
#include "queue/spool.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <filesystem>
#include <future>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/logger.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace backstop::delivery {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A clock that throws once when armed: the next reader gets an exception.
class ThrowOnceClock final : public mail::Clock {
public:
  std::chrono::system_clock::time_point now() const override {
    if (armed_.exchange(false)) {
      throw std::runtime_error("clock failure injected by the test");
    }
    return std::chrono::system_clock::time_point{} + 1795392000s;
  }
  void arm() { armed_ = true; }

private:
  mutable std::atomic<bool> armed_{false};
};

// Accepts every message; arms the clock just before its 250 to the final dot.
class AcceptingPeer {
public:
  explicit AcceptingPeer(ThrowOnceClock& clock) : clock_(clock) {
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
  ~AcceptingPeer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

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
  void converse(int fd) {
    say(fd, "220 peer.example.test ESMTP\r\n");
    std::string in;
    bool data = false;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return;
      }
      in.append(buf, static_cast<std::size_t>(n));
      for (;;) {
        if (data) {
          const auto end = in.find("\r\n.\r\n");
          if (end == std::string::npos) {
            break;
          }
          in.erase(0, end + 5);
          data = false;
          clock_.arm();
          say(fd, "250 2.0.0 queued\r\n");
          continue;
        }
        const auto eol = in.find("\r\n");
        if (eol == std::string::npos) {
          break;
        }
        const std::string verb = in.substr(0, 4);
        in.erase(0, eol + 2);
        if (verb == "DATA") {
          data = true;
          say(fd, "354 go ahead\r\n");
        } else if (verb == "QUIT") {
          say(fd, "221 bye\r\n");
          return;
        } else {
          say(fd, "250 ok\r\n");
        }
      }
    }
  }

  ThrowOnceClock& clock_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class PeerRouter final : public Router {
public:
  explicit PeerRouter(std::uint16_t port) : port_(port) {}
  asio::awaitable<Route> route(const std::string& /*domain*/) override {
    Route r;
    r.hops.push_back({"127.0.0.1", {asio::ip::make_address("127.0.0.1"), port_}});
    co_return r;
  }

private:
  std::uint16_t port_;
};

bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

TEST(SchedulerRound, ADeliveryThatThrowsDoesNotLeaveItsDomainStuck) {
  const fs::path dir =
      fs::temp_directory_path() / ("scheduler_round_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ThrowOnceClock clock;
  AcceptingPeer peer(clock);
  PeerRouter router(peer.port());
  queue::SpoolOptions spool_options;
  spool_options.dir = dir;
  auto opened = queue::Spool::open(spool_options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto spool = std::move(opened.value());
  SchedulerOptions options;
  options.hostname = "mx2.example.test";
  options.retry = {1h, 1h, 4h, 5 * 24h};
  options.tick = 5ms;
  options.client.helo_name = options.hostname;
  options.client.connect_timeout = 5s;
  options.client.command_timeout = 5s;
  options.client.greeting_timeout = 5s;
  options.client.data_timeout = 5s;
  asio::io_context loop{1};
  Scheduler scheduler(loop, *spool, router, options, clock,
                      std::make_shared<spdlog::logger>("test"));
  spool->set_on_committed(
      [&](std::vector<queue::QueuedMessage> m) { scheduler.on_committed(std::move(m)); });
  scheduler.start();
  std::thread thread([&] {
    auto guard = asio::make_work_guard(loop);
    loop.run();
  });

  mail::Envelope e;
  e.sender = {"sender", "example.org"};
  e.recipients.push_back({{"user", "example.test"}, mail::NotifyNone, ""});
  e.arrival_unix = clock.now_unix();
  auto body = spool->new_body();
  ASSERT_TRUE(body.append("Subject: x\r\n\r\nbody\r\n").ok());
  const auto id = spool->allocate_id();
  std::promise<queue::CommitResult> committed;
  spool->submit(id, e, std::move(body), [&](queue::CommitResult r) { committed.set_value(r); });
  ASSERT_TRUE(committed.get_future().get().ok());

  ASSERT_TRUE(eventually([&] { return peer.connections() == 1; }));
  // The delivery threw after the peer's 250: the message is kept for a retry ...
  EXPECT_TRUE(eventually([&] {
    auto m = spool->find(id);
    return m && m->state.recipients.at(0).attempts == 1;
  }));
  // ... and the round ended, so a flush makes a new attempt.
  scheduler.request_flush("example.test");
  EXPECT_TRUE(eventually([&] { return peer.connections() >= 2; }))
      << "the round never ended: the domain is stuck";

  scheduler.stop();
  loop.stop();
  thread.join();
  spool->close();
  fs::remove_all(dir);
}

} // namespace
} // namespace backstop::delivery
