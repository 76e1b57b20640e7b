// loop_resolver_test: a question asked on one loop is answered by a resolver on another
// loop's thread, and the asker resumes on its own thread; against a recording resolver and
// against the real one with a dnsmasq on loopback.
#include "dns/dnsmasq.hpp"
#include "dns/loop_resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <thread>

namespace backstop::dns {
namespace {

using namespace std::chrono_literals;

// Answers every question with its own name, noting the thread it ran on.
class EchoResolver final : public Resolver {
public:
  asio::awaitable<MxAnswer> mx(std::string domain) override {
    ran_on = std::this_thread::get_id();
    co_return MxAnswer{Status::Found, {{10, domain}}, {}};
  }
  asio::awaitable<AddressAnswer> addresses(std::string host) override {
    ran_on = std::this_thread::get_id();
    co_return AddressAnswer{Status::NxDomain, {}, host};
  }
  asio::awaitable<TextAnswer> txt(std::string name) override {
    ran_on = std::this_thread::get_id();
    co_return TextAnswer{Status::Found, {name}, {}};
  }
  asio::awaitable<NameAnswer> ptr(asio::ip::address address) override {
    ran_on = std::this_thread::get_id();
    co_return NameAnswer{Status::Found, {address.to_string()}, {}};
  }
  std::thread::id ran_on;
};

// The asker's loop (this thread) and the target's loop on a thread of its own. The asker's
// loop outlives the target's thread, which may still release its hold on the asker's loop
// after the answer arrived.
struct Loops {
  asio::io_context asker;
  asio::executor_work_guard<asio::io_context::executor_type> asker_work{asker.get_executor()};
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  std::thread::id resumed_on;

  ~Loops() {
    work.reset();
    thread.join();
  }

  template <typename T> T ask(std::function<asio::awaitable<T>()> question) {
    T result{};
    bool done = false;
    asio::co_spawn(
        asker,
        [&]() -> asio::awaitable<void> {
          result = co_await question();
          resumed_on = std::this_thread::get_id();
          done = true;
        },
        asio::detached);
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!done && std::chrono::steady_clock::now() < until) {
      asker.run_one_for(100ms);
    }
    EXPECT_TRUE(done) << "no answer within 10 s";
    return result;
  }
};

TEST(LoopResolver, RunsOnTheTargetLoopAndResumesOnTheAskersLoop) {
  EchoResolver echo;
  Loops loops;
  LoopResolver resolver(echo, loops.io.get_executor());
  const auto txt = loops.ask<TextAnswer>(
      [&] { return resolver.txt(std::string("a-name-longer-than-the-small-string-buffer.test")); });
  EXPECT_EQ(echo.ran_on, loops.thread.get_id());
  EXPECT_EQ(loops.resumed_on, std::this_thread::get_id());
  EXPECT_EQ(txt.records,
            (std::vector<std::string>{"a-name-longer-than-the-small-string-buffer.test"}));

  const auto ptr =
      loops.ask<NameAnswer>([&] { return resolver.ptr(asio::ip::make_address("2001:db8::1")); });
  EXPECT_EQ(ptr.names, (std::vector<std::string>{"2001:db8::1"}));
  const auto mx = loops.ask<MxAnswer>([&] { return resolver.mx("mail.test"); });
  ASSERT_EQ(mx.records.size(), 1u);
  EXPECT_EQ(mx.records[0].exchange, "mail.test");
  EXPECT_EQ(loops.ask<AddressAnswer>([&] { return resolver.addresses("gone.test"); }).error,
            "gone.test");
  EXPECT_EQ(loops.resumed_on, std::this_thread::get_id());
}

TEST(LoopResolver, RealResolverOnAnotherLoop) {
  const int port = testing::free_udp_port();
  testing::Dnsmasq dnsmasq;
  ASSERT_TRUE(dnsmasq.start(
      port, {"--host-record=host4.test,127.0.0.7", "--txt-record=host4.test,listed for a test"}));
  mail::ManualClock clock{std::chrono::system_clock::now()};
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  options.timeout = 1000ms;
  Loops loops;
  // Created and destroyed on the target's loop, where its sockets live.
  std::unique_ptr<Resolver> real =
      asio::co_spawn(
          loops.io,
          [&]() -> asio::awaitable<std::unique_ptr<Resolver>> {
            co_return std::move(Resolver::create(loops.io.get_executor(), options, clock).value());
          },
          asio::use_future)
          .get();
  LoopResolver resolver(*real, loops.io.get_executor());
  const auto a = loops.ask<AddressAnswer>([&] { return resolver.a("host4.test"); });
  EXPECT_EQ(a.status, Status::Found);
  EXPECT_EQ(a.addresses, (std::vector<asio::ip::address>{asio::ip::make_address("127.0.0.7")}));
  const auto txt = loops.ask<TextAnswer>([&] { return resolver.txt("host4.test"); });
  EXPECT_EQ(txt.records, (std::vector<std::string>{"listed for a test"}));
  EXPECT_EQ(loops.resumed_on, std::this_thread::get_id());
  asio::post(loops.io, asio::use_future([&] { real.reset(); })).get();
}

} // namespace
} // namespace backstop::dns
