// async_store_test: the awaitable facade over a blocking store. A call hops to the store's
// own thread and back; a store slower than the deadline is a Timeout error, not a hang;
// and while a call waits, the caller's loop keeps running other work.
#include "state/async_store.hpp"
#include "state/store_thread.hpp"

#include <future>
#include <gtest/gtest.h>
#include <thread>

namespace backstop::state {
namespace {

using namespace std::chrono_literals;

using testing::StoreThread;

// A Result has no default value, which co_spawn's completion needs: await it here.
template <typename T>
asio::awaitable<void> await_into(asio::awaitable<T> call, std::optional<T>* out) {
  out->emplace(co_await std::move(call));
}

class AsyncStoreTest : public ::testing::Test {
protected:
  // Runs coroutine on the loop until it finishes.
  template <typename T> T run(asio::awaitable<T> coroutine) {
    std::optional<T> out;
    asio::co_spawn(loop_, await_into(std::move(coroutine), &out),
                   [](std::exception_ptr e) { EXPECT_FALSE(e); });
    loop_.restart();
    loop_.run();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }

  asio::io_context loop_; // outlives the store thread
  StoreThread store_;
};

TEST_F(AsyncStoreTest, AnswerComesBackFromTheStoreThread) {
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  auto got = run(run_on_store<int>(store_.executor(), 5000ms, [&ran_on]() -> Result<int> {
    ran_on = std::this_thread::get_id();
    return 42;
  }));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value(), 42);
  EXPECT_NE(ran_on, caller) << "the blocking call must not run on the loop";
}

TEST_F(AsyncStoreTest, ErrorOfTheStoreKeepsItsKind) {
  auto got = run(run_on_store<int>(store_.executor(), 5000ms, []() -> Result<int> {
    return make_error(ErrorKind::Corrupt, "bad row");
  }));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::Corrupt);
  EXPECT_EQ(got.error().message, "bad row");
}

TEST_F(AsyncStoreTest, SlowStoreIsATimeoutWithinTheDeadline) {
  std::promise<void> release;
  auto released = release.get_future().share();
  const auto start = std::chrono::steady_clock::now();
  auto got = run(run_on_store<int>(store_.executor(), 100ms, [released]() -> Result<int> {
    released.wait();
    return 1;
  }));
  const auto took = std::chrono::steady_clock::now() - start;
  release.set_value(); // the store thread finishes its work; the answer is discarded
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::Timeout);
  EXPECT_LT(took, 5s) << "deadline 100 ms";
}

// Runs on the loop some time after the call below has started.
asio::awaitable<void> mark_and_release(bool* marked, std::promise<void>* release) {
  asio::steady_timer later(co_await asio::this_coro::executor, 20ms);
  co_await later.async_wait(asio::use_awaitable);
  *marked = true;
  release->set_value();
  co_return;
}

TEST_F(AsyncStoreTest, LoopServesOtherWorkWhileACallWaits) {
  // The store waits for a coroutine on the loop; if the call blocked the loop, that
  // coroutine could not run and the call would end in its deadline instead of an answer.
  std::promise<void> release;
  auto released = release.get_future().share();
  bool marked = false;
  asio::co_spawn(loop_, mark_and_release(&marked, &release), asio::detached);
  auto got = run(run_on_store<int>(store_.executor(), 10000ms, [released]() -> Result<int> {
    released.wait();
    return 7;
  }));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got.value(), 7);
  EXPECT_TRUE(marked);
}

} // namespace
} // namespace backstop::state
