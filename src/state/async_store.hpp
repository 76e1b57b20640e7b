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
    asio::post(loop, [pending, answer = std::move(answer)]() mutable {
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
    asio::co_spawn(store_executor_, purge_loop(&store_, &clock, every, std::move(report)),
                   asio::detached);
  }

private:
  static asio::awaitable<void> purge_loop(GreylistStore* store, const mail::Clock* clock,
                                          std::chrono::seconds every,
                                          std::function<void(const Result<std::size_t>&)> report) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      auto purged = store->erase_expired(clock->now_unix());
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

  GreylistStore& store_;
  asio::any_io_executor store_executor_;
};

} // namespace backstop::state
