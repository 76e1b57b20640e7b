// async_offender_store: the offender store as seen from an event loop (state/async_store.hpp
// runs each call on the store's thread with a deadline). The blacklist's rules live here,
// set by app from the configuration (and again on reload), so that whoever records an
// offense (the primary_up check, a trap listener, the skipped-primary check) applies the
// same threshold and window without knowing them.
#pragma once
#include "state/async_batch.hpp"
#include "state/async_store.hpp"
#include "state/offender_allowlist.hpp"
#include "state/offender_store.hpp"

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace backstop::state {

class AsyncOffenderStore {
public:
  using Report = std::function<void(const Offense&, const Result<RecordOutcome>&)>;

  AsyncOffenderStore(OffenderStore& store, asio::any_io_executor store_executor)
      : store_(store), store_executor_(std::move(store_executor)),
        listing_reads_(store_executor_, [store = &store](const auto& queries) {
          return store->listing_each(queries);
        }) {}

  void set_rules(const BlacklistRules& rules) {
    const std::lock_guard lock(mutex_);
    rules_ = rules;
  }
  BlacklistRules rules() const {
    const std::lock_guard lock(mutex_);
    return rules_;
  }
  // Who is never listed (and never refused by the blacklist check); set with the rules.
  void set_allowlist(OffenderAllowlist allowlist) {
    const std::lock_guard lock(mutex_);
    allowlist_ = std::make_shared<const OffenderAllowlist>(std::move(allowlist));
  }
  std::shared_ptr<const OffenderAllowlist> allowlist() const {
    const std::lock_guard lock(mutex_);
    return allowlist_;
  }
  // An allowlisted client's offense is kept as evidence and never counts, so it never lists.
  Offense exempted(Offense offense) const {
    return state::exempted(std::move(offense), *allowlist());
  }
  // Called on the store's thread with every record's result, awaited or posted (app logs
  // a new listing and a failure); set once before serving.
  void set_report(Report report) { report_ = std::move(report); }

  // The client's forward-confirmed PTR name ("" when it has none or DNS cannot tell), asked
  // for an offense whose recorder did not know it (a trap) while the allowlist has PTR
  // suffixes: so a large sender's host never counts, whoever recorded it. Set once before
  // serving; it must be awaitable from any loop.
  using PtrLookup = std::function<asio::awaitable<std::string>(std::string address)>;
  void set_ptr_lookup(PtrLookup lookup) { ptr_lookup_ = std::move(lookup); }

  // The result also goes to the report (on the store's thread), so that every new listing
  // is logged once, whoever recorded the offense that caused it.
  asio::awaitable<Result<RecordOutcome>> record(Offense offense,
                                                std::chrono::milliseconds deadline) {
    return record_awaited(this, std::move(offense), deadline);
  }
  // Not awaited: a trap does not wait for its bookkeeping. The result goes to the report.
  void post_record(Offense offense) {
    if (needs_ptr(offense)) {
      asio::co_spawn(store_executor_, post_with_ptr(this, std::move(offense)), asio::detached);
      return;
    }
    asio::post(store_executor_, [this, offense = exempted(std::move(offense)), rules = rules()] {
      record_and_report(offense, rules);
    });
  }
  // Asked at every RCPT by every session: the reads that wait together are answered together
  // (state/async_batch.hpp).
  asio::awaitable<Result<std::optional<Listing>>> listing(std::string address, std::int64_t now,
                                                          std::chrono::milliseconds deadline) {
    return listing_reads_.ask({std::move(address), now}, deadline);
  }
  // Calls of the store that answered listing() so far.
  std::size_t listing_batches() const { return listing_reads_.batches(); }
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
    start_purge_loop(
        store_executor_,
        [self = this, clock = &clock] {
          return self->store_.erase_expired(clock->now_unix(), self->rules());
        },
        every, std::move(report));
  }

private:
  bool needs_ptr(const Offense& offense) const {
    if (!ptr_lookup_ || !offense.counts || !offense.ptr.empty()) {
      return false;
    }
    const auto allow = allowlist();
    return allow->has_ptr_suffixes() && allow->match(offense.address, "").empty();
  }
  asio::awaitable<Offense> with_ptr(Offense offense) const {
    if (needs_ptr(offense)) {
      offense.ptr = co_await ptr_lookup_(offense.address);
    }
    co_return offense;
  }
  // The store call of an awaited record: a named callable, since GCC 12 miscompiles a
  // lambda that captures by move inside a coroutine (the capture is freed twice).
  struct RecordWork {
    AsyncOffenderStore* self;
    Offense offense;
    BlacklistRules rules;
    Result<RecordOutcome> operator()() const { return self->record_and_report(offense, rules); }
  };
  static asio::awaitable<Result<RecordOutcome>>
  record_awaited(AsyncOffenderStore* self, Offense offense, std::chrono::milliseconds deadline) {
    Offense looked_up = co_await self->with_ptr(std::move(offense));
    RecordWork work{self, self->exempted(std::move(looked_up)), self->rules()};
    co_return co_await run_on_store<RecordOutcome>(self->store_executor_, deadline,
                                                   std::move(work));
  }
  static asio::awaitable<void> post_with_ptr(AsyncOffenderStore* self, Offense offense) {
    Offense looked_up = co_await self->with_ptr(std::move(offense));
    self->record_and_report(self->exempted(std::move(looked_up)), self->rules());
  }

  Result<RecordOutcome> record_and_report(const Offense& offense, const BlacklistRules& rules) {
    auto outcome = store_.record(offense, rules);
    if (report_) {
      report_(offense, outcome);
    }
    return outcome;
  }

  OffenderStore& store_;
  asio::any_io_executor store_executor_;
  ReadBatcher<OffenderStore::ListingQuery, std::optional<Listing>> listing_reads_;
  mutable std::mutex mutex_;
  BlacklistRules rules_;
  std::shared_ptr<const OffenderAllowlist> allowlist_ = std::make_shared<const OffenderAllowlist>();
  Report report_;
  PtrLookup ptr_lookup_;
};

} // namespace backstop::state
