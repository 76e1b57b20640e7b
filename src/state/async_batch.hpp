// async_batch: reads of the state store that many sessions ask at once (the blacklist's
// listing at every RCPT), answered together. A read waits on the store's thread behind the
// one in progress (one thread, blocking calls); every read that arrived meanwhile goes out in
// the next batch, one call of the backend (Redis: one pipelined round trip for all of them).
// No read waits for a batch to fill: an idle store answers each one at once, alone. Each
// answer is the one the single read would have given at that moment; each caller keeps its
// own deadline (state/async_store.hpp: a late answer is a Timeout, the work still finishes).
#pragma once

#include "state/async_store.hpp"

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace backstop::state {

// Query: what one caller asks; T: its answer. work runs on the store's thread with every
// query waiting and returns one answer per query, in order (or one error for all).
template <typename Query, typename T> class ReadBatcher {
public:
  using Work = std::function<Result<std::vector<Result<T>>>(const std::vector<Query>&)>;

  ReadBatcher(asio::any_io_executor store_executor, Work work)
      : store_executor_(std::move(store_executor)), work_(std::move(work)) {}

  asio::awaitable<Result<T>> ask(Query query, std::chrono::milliseconds deadline) {
    const asio::any_io_executor loop = co_await asio::this_coro::executor;
    auto pending = std::make_shared<detail::Pending<T>>(loop);
    pending->wake.expires_after(deadline);
    enqueue(Waiting{std::move(query), pending, loop});
    std::error_code ec;
    co_await pending->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (pending->answer) { // also when it arrived just as the deadline fired
      co_return std::move(*pending->answer);
    }
    co_return make_error(ErrorKind::Timeout, "state store: no answer within " +
                                                 std::to_string(deadline.count()) + " ms");
  }

  // Calls of work so far (a test sees reads answered together).
  std::size_t batches() const {
    const std::lock_guard lock(mutex_);
    return batches_;
  }

private:
  struct Waiting {
    Query query;
    std::shared_ptr<detail::Pending<T>> pending;
    asio::any_io_executor loop;
  };

  void enqueue(Waiting waiting) {
    bool first = false;
    {
      const std::lock_guard lock(mutex_);
      waiting_.push_back(std::move(waiting));
      first = !std::exchange(scheduled_, true);
    }
    if (first) {
      asio::post(store_executor_, [this] { answer_waiting(); });
    }
  }

  // On the store's thread: everyone who asked until now, in one call.
  void answer_waiting() {
    std::vector<Waiting> batch;
    {
      const std::lock_guard lock(mutex_);
      batch.swap(waiting_);
      scheduled_ = false;
      ++batches_;
    }
    std::vector<Query> queries;
    queries.reserve(batch.size());
    for (const auto& w : batch) {
      queries.push_back(w.query);
    }
    auto answers = work_(queries);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Result<T> answer =
          make_error(ErrorKind::Internal, "state store: a batch answered fewer than asked");
      if (!answers) {
        answer = answers.error();
      } else if (i < answers.value().size()) {
        answer = std::move(answers.value()[i]);
      }
      // The loop's handler holds the last reference: a timer must die on its own loop's thread.
      asio::post(batch[i].loop,
                 [pending = std::move(batch[i].pending), answer = std::move(answer)]() mutable {
                   pending->answer.emplace(std::move(answer));
                   pending->wake.cancel();
                 });
    }
  }

  asio::any_io_executor store_executor_;
  Work work_;
  mutable std::mutex mutex_;
  std::vector<Waiting> waiting_;
  bool scheduled_ = false;
  std::size_t batches_ = 0;
};

} // namespace backstop::state
