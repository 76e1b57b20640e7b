// async_offender_store: the offender store as seen from an event loop (state/async_store.hpp
// runs each call on the store's thread with a deadline). The blacklist's rules live here,
// set by app from the configuration (and again on reload), so that whoever records an
// offense (the primary_up check, a trap listener, the skipped-primary check) applies the
// same threshold and window without knowing them.
#pragma once
#include "state/async_store.hpp"
#include "state/offender_store.hpp"

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace backstop::state {

class AsyncOffenderStore {
public:
  using Report = std::function<void(const Offense&, const Result<RecordOutcome>&)>;

  AsyncOffenderStore(OffenderStore& store, asio::any_io_executor store_executor)
      : store_(store), store_executor_(std::move(store_executor)) {}

  void set_rules(const BlacklistRules& rules) {
    const std::lock_guard lock(mutex_);
    rules_ = rules;
  }
  BlacklistRules rules() const {
    const std::lock_guard lock(mutex_);
    return rules_;
  }
  // Called on the store's thread with every record's result, awaited or posted (app logs
  // a new listing and a failure); set once before serving.
  void set_report(Report report) { report_ = std::move(report); }

  // The result also goes to the report (on the store's thread), so that every new listing
  // is logged once, whoever recorded the offense that caused it.
  asio::awaitable<Result<RecordOutcome>> record(Offense offense,
                                                std::chrono::milliseconds deadline) {
    return run_on_store<RecordOutcome>(store_executor_, deadline,
                                       [this, offense = std::move(offense), rules = rules()] {
                                         return record_and_report(offense, rules);
                                       });
  }
  // Not awaited: a trap does not wait for its bookkeeping. The result goes to the report.
  void post_record(Offense offense) {
    asio::post(store_executor_, [this, offense = std::move(offense), rules = rules()] {
      record_and_report(offense, rules);
    });
  }
  asio::awaitable<Result<std::optional<Listing>>> listing(std::string address, std::int64_t now,
                                                          std::chrono::milliseconds deadline) {
    return run_on_store<std::optional<Listing>>(store_executor_, deadline,
                                                [store = &store_, address = std::move(address),
                                                 now] { return store->listing(address, now); });
  }
  asio::awaitable<Result<RetryHistory>> record_retry(Triplet triplet, std::int64_t now,
                                                     std::int64_t forget_after,
                                                     std::chrono::milliseconds deadline) {
    return run_on_store<RetryHistory>(
        store_executor_, deadline,
        [store = &store_, triplet = std::move(triplet), now, forget_after] {
          return store->record_retry(triplet, now, forget_after);
        });
  }

  // Removes expired listings, old offenses and forgotten retries now and then every
  // `every`, on the store's thread, with the rules of the moment; report gets each result.
  void start_purging(const mail::Clock& clock, std::chrono::seconds every,
                     std::function<void(const Result<std::size_t>&)> report) {
    asio::co_spawn(store_executor_, purge_loop(this, &clock, every, std::move(report)),
                   asio::detached);
  }

private:
  Result<RecordOutcome> record_and_report(const Offense& offense, const BlacklistRules& rules) {
    auto outcome = store_.record(offense, rules);
    if (report_) {
      report_(offense, outcome);
    }
    return outcome;
  }

  static asio::awaitable<void> purge_loop(AsyncOffenderStore* self, const mail::Clock* clock,
                                          std::chrono::seconds every,
                                          std::function<void(const Result<std::size_t>&)> report) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      auto purged = self->store_.erase_expired(clock->now_unix(), self->rules());
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

  OffenderStore& store_;
  asio::any_io_executor store_executor_;
  mutable std::mutex mutex_;
  BlacklistRules rules_;
  Report report_;
};

} // namespace backstop::state
