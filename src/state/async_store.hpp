// async_store: the state store as seen from an event loop. run_on_store runs one blocking
// backend call on the store's own thread (one io_context thread: SQLite blocks) and awaits
// its answer with a deadline, so the loop serves other sessions meanwhile. A call that
// misses its deadline is a Timeout error for the caller; the store still finishes the work
// later (a write lands, a read is discarded). The caller's executor must be a one-thread
// loop (every event loop is), where the answer is handed over.
#pragma once

#include "mail/clock.hpp"
#include "state/greylist_store.hpp"

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace backstop::state {

namespace detail {
template <typename T> struct Pending {
  explicit Pending(const asio::any_io_executor& loop) : wake(loop) {}
  asio::steady_timer wake; // the deadline; cancelled early when the answer arrives
  std::optional<Result<T>> answer;
};
} // namespace detail

// work: a callable returning Result<T>, run on store; copied there by value.
template <typename T, typename Work>
asio::awaitable<Result<T>> run_on_store(asio::any_io_executor store,
                                        std::chrono::milliseconds deadline, Work work) {
  const asio::any_io_executor loop = co_await asio::this_coro::executor;
  auto pending = std::make_shared<detail::Pending<T>>(loop);
  pending->wake.expires_after(deadline);
  asio::post(store, [pending, loop, work = std::move(work)]() mutable {
    Result<T> answer = work();
    // Moved, not copied: the timer must not die on the store's thread (its service is the loop's).
    asio::post(loop, [pending = std::move(pending), answer = std::move(answer)]() mutable {
      pending->answer.emplace(std::move(answer));
      pending->wake.cancel();
    });
  });
  std::error_code ec;
  co_await pending->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (pending->answer) { // also when it arrived just as the deadline fired
    co_return std::move(*pending->answer);
  }
  co_return make_error(ErrorKind::Timeout,
                       "state store: no answer within " + std::to_string(deadline.count()) + " ms");
}

using PurgeReport = std::function<void(const Result<std::size_t>&)>;

namespace detail {
inline asio::awaitable<void> purge_every(std::function<Result<std::size_t>()> purge,
                                         std::chrono::seconds every, PurgeReport report) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto purged = purge();
    if (report) {
      report(purged);
    }
    timer.expires_after(every);
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
  }
}
} // namespace detail

// Runs purge (a store's erase_expired) now and then every `every` on the store's thread;
// report gets each result (a count or an error) there. One loop for every concern.
inline void start_purge_loop(asio::any_io_executor store,
                             std::function<Result<std::size_t>()> purge, std::chrono::seconds every,
                             PurgeReport report) {
  asio::co_spawn(store, detail::purge_every(std::move(purge), every, std::move(report)),
                 asio::detached);
}

// Greylisting from an event loop: each call one hop to the store's thread and back.
class AsyncGreylistStore {
public:
  AsyncGreylistStore(GreylistStore& store, asio::any_io_executor store_executor)
      : store_(store), store_executor_(std::move(store_executor)) {}

  asio::awaitable<Result<GreylistOutcome>>
  record_attempt(GreylistAttempt attempt, GreylistRules rules, std::chrono::milliseconds deadline) {
    return run_on_store<GreylistOutcome>(
        store_executor_, deadline,
        [store = &store_, attempt, rules] { return store->record_attempt(attempt, rules); });
  }

  // Removes expired greylist records now and then every `every`, on the store's thread;
  // report gets each purge's result (a count or an error) there.
  void start_purging(const mail::Clock& clock, std::chrono::seconds every,
                     std::function<void(const Result<std::size_t>&)> report) {
    start_purge_loop(
        store_executor_,
        [store = &store_, clock = &clock] { return store->erase_expired(clock->now_unix()); },
        every, std::move(report));
  }

private:
  GreylistStore& store_;
  asio::any_io_executor store_executor_;
};

} // namespace backstop::state
