// shared_sender_probes_test: concurrent probes of one sender address share one callout, on
// one loop and across loops; other addresses and later probes ask on their own; a waiter
// whose callout outlives its deadline gets "cannot tell".
#include "policy/shared_sender_probes.hpp"

#include <asio.hpp>
#include <atomic>
#include <gtest/gtest.h>
#include <thread>

namespace backstop::policy {
namespace {

// The asker behind: each probe takes `takes` and accepts; it counts what it was asked.
class SlowAsker final : public SenderProber {
public:
  explicit SlowAsker(std::chrono::milliseconds takes) : takes_(takes) {}
  asio::awaitable<SenderProbeAnswer> probe(mail::Address address, SenderProbeLimits) override {
    ++asked_;
    asio::steady_timer timer(co_await asio::this_coro::executor, takes_);
    co_await timer.async_wait(asio::use_awaitable);
    SenderProbeAnswer answer;
    answer.answer = SenderAnswer::Accepts;
    answer.asked = true;
    answer.reply = "250 ok " + address.to_string();
    co_return answer;
  }
  int asked() const { return asked_; }

private:
  std::chrono::milliseconds takes_;
  std::atomic<int> asked_{0};
};

struct Collect {
  SharedSenderProbes* probes;
  mail::Address address;
  SenderProbeLimits limits;
  std::vector<SenderProbeAnswer>* answers;
  std::mutex* mutex;
  asio::awaitable<void> operator()() const {
    auto answer = co_await probes->probe(address, limits);
    const std::lock_guard lock(*mutex);
    answers->push_back(answer);
  }
};

class SharedSenderProbesTest : public ::testing::Test {
protected:
  void spawn(asio::io_context& loop, const mail::Address& address) {
    asio::co_spawn(loop, Collect{&shared_, address, limits_, &answers_, &mutex_}, asio::detached);
  }

  SlowAsker asker_{std::chrono::milliseconds(50)};
  SharedSenderProbes shared_{asker_};
  SenderProbeLimits limits_;
  std::vector<SenderProbeAnswer> answers_;
  std::mutex mutex_;
};

TEST_F(SharedSenderProbesTest, ConcurrentProbesOfOneAddressShareOneCallout) {
  asio::io_context loop;
  for (int i = 0; i < 10; ++i) {
    spawn(loop, {i % 2 == 0 ? "bob" : "BOB", i % 3 == 0 ? "example.org" : "Example.ORG"});
  }
  loop.run();
  EXPECT_EQ(asker_.asked(), 1);
  ASSERT_EQ(answers_.size(), 10u);
  for (const auto& a : answers_) {
    EXPECT_EQ(a.answer, SenderAnswer::Accepts) << a.reply;
  }
  EXPECT_EQ(shared_.in_flight(), 0u);
}

TEST_F(SharedSenderProbesTest, OtherAddressesAndLaterProbesAskOnTheirOwn) {
  asio::io_context loop;
  spawn(loop, {"bob", "example.org"});
  spawn(loop, {"alice", "example.org"});
  loop.run();
  EXPECT_EQ(asker_.asked(), 2);
  loop.restart();
  spawn(loop, {"bob", "example.org"}); // the flight has landed: remembering is the cache's job
  loop.run();
  EXPECT_EQ(asker_.asked(), 3);
  EXPECT_EQ(answers_.size(), 3u);
}

TEST_F(SharedSenderProbesTest, AWaiterOnAnotherLoopGetsTheAnswerOnItsOwnLoop) {
  asio::io_context first;
  asio::io_context second;
  spawn(first, {"bob", "example.org"});
  first.poll(); // the flight starts on the first loop
  spawn(second, {"bob", "example.org"});
  std::thread other([&second] { second.run(); });
  first.run();
  other.join();
  EXPECT_EQ(asker_.asked(), 1);
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[1].answer, SenderAnswer::Accepts);
}

TEST_F(SharedSenderProbesTest, AWaiterWhoseCalloutOutlivesItsDeadlineCannotTell) {
  SlowAsker stuck(std::chrono::milliseconds(3000));
  SharedSenderProbes shared(stuck);
  limits_.timeout = std::chrono::seconds(0); // the waiter gives it one second more
  asio::io_context loop;
  asio::co_spawn(loop, Collect{&shared, {"bob", "example.org"}, limits_, &answers_, &mutex_},
                 asio::detached);
  asio::co_spawn(loop, Collect{&shared, {"bob", "example.org"}, limits_, &answers_, &mutex_},
                 asio::detached);
  loop.run_for(std::chrono::milliseconds(2000));
  ASSERT_EQ(answers_.size(), 1u) << "only the waiter has given up";
  EXPECT_EQ(answers_[0].answer, SenderAnswer::CannotTell);
  EXPECT_EQ(answers_[0].reply, "the shared callout did not answer in time");
  loop.run();
  EXPECT_EQ(answers_.size(), 2u);
  EXPECT_EQ(stuck.asked(), 1);
}

} // namespace
} // namespace backstop::policy
