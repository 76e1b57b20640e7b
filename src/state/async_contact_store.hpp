// async_contact_store: the contact store as seen from an event loop. A session's contact is
// posted to the store's thread and not awaited (the banner does not wait for bookkeeping);
// at most max_pending records wait there at once, more are dropped and counted, so a flood
// of connections cannot grow the store thread's queue without bound. Records that come
// within batch_delay of each other share one wake-up of the store's thread and one
// transaction: a connection costs no thread hop of its own (the acceptance cost, issue 13). The
// skipped-primary check awaits its evidence with a deadline (state/async_store.hpp). How long
// contacts are kept is set by app from [state] contacts_keep.
#pragma once
#include "mail/clock.hpp"
#include "state/async_batch.hpp"
#include "state/async_store.hpp"
#include "state/contact_store.hpp"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace backstop::state {

class AsyncContactStore {
public:
  using Report = std::function<void(const Contact&, const Status&)>;

  AsyncContactStore(ContactStore& store, asio::any_io_executor store_executor,
                    std::int64_t keep = 7 * 86400, std::size_t max_pending = 10000,
                    std::chrono::milliseconds batch_delay = std::chrono::milliseconds{0})
      : store_(store), store_executor_(std::move(store_executor)), keep_(keep),
        max_pending_(max_pending), batch_delay_(batch_delay), flush_timer_(store_executor_),
        evidence_reads_(store_executor_, [store = &store](const auto& queries) {
          return store->evidence_each(queries);
        }) {}

  void set_keep(std::int64_t keep) { keep_.store(keep, std::memory_order_relaxed); }
  std::int64_t keep() const { return keep_.load(std::memory_order_relaxed); }
  // Called on the store's thread with a posted record that failed; set once before serving.
  void set_report(Report report) { report_ = std::move(report); }
  // Records posted but dropped because max_pending were waiting.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  void post_record(Contact contact) {
    bool first = false;
    {
      const std::lock_guard lock(batch_mutex_);
      if (batch_.size() >= max_pending_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      batch_.push_back(std::move(contact));
      first = !std::exchange(flush_scheduled_, true);
    }
    if (first) {
      asio::post(store_executor_, [this] { arm_flush(); });
    }
  }

  // Asked at every RCPT by every session: the reads that wait together are answered together
  // (state/async_batch.hpp).
  asio::awaitable<Result<std::vector<HostEvidence>>> evidence(std::string address,
                                                              std::vector<std::string> hosts,
                                                              std::int64_t now,
                                                              std::chrono::milliseconds deadline) {
    return evidence_reads_.ask({std::move(address), std::move(hosts), now}, deadline);
  }
  // Calls of the store that answered evidence() so far.
  std::size_t evidence_batches() const { return evidence_reads_.batches(); }

  // Removes expired contacts now and then every `every`, on the store's thread.
  void start_purging(const mail::Clock& clock, std::chrono::seconds every,
                     std::function<void(const Result<std::size_t>&)> report) {
    start_purge_loop(
        store_executor_,
        [store = &store_, clock = &clock] { return store->erase_expired(clock->now_unix()); },
        every, std::move(report));
  }

private:
  // On the store's thread: the batch is written once batch_delay has passed.
  void arm_flush() {
    if (batch_delay_.count() == 0) {
      flush();
      return;
    }
    flush_timer_.expires_after(batch_delay_);
    flush_timer_.async_wait([this](std::error_code ec) {
      if (!ec) {
        flush();
      }
    });
  }
  void flush() {
    std::vector<Contact> batch;
    {
      const std::lock_guard lock(batch_mutex_);
      batch.swap(batch_);
      flush_scheduled_ = false;
    }
    if (batch.empty()) {
      return;
    }
    auto status = store_.record(batch, keep());
    if (!status && report_) {
      report_(batch.front(), status);
    }
  }

  ContactStore& store_;
  asio::any_io_executor store_executor_;
  std::atomic<std::int64_t> keep_;
  std::size_t max_pending_;
  std::chrono::milliseconds batch_delay_;
  asio::steady_timer flush_timer_; // on the store's thread
  std::mutex batch_mutex_;
  std::vector<Contact> batch_; // posted, not yet written
  bool flush_scheduled_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  Report report_;
  ReadBatcher<ContactStore::EvidenceQuery, std::vector<HostEvidence>> evidence_reads_;
};

} // namespace backstop::state
