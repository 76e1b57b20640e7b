// fallback_switch: the one decision every call of the fallback store makes. Redis is asked
// first (its connection's circuit breaker makes that free while it is known down); when it
// fails as unavailable or timeout, the local store answers, and a write answered locally is
// kept in a bounded journal (the oldest dropped when full) to be written through to Redis.
// Each call that Redis answers again writes journaled entries through for at most one
// replay budget (the [state] timeout), so a check never waits for a whole journal; the
// switch goes back to Redis once the journal is empty. One mutex: the store's thread, the
// CLI and the status page may share a store.
#pragma once

#include "state/error.hpp"
#include "state/fallback_options.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace backstop::state {

class Store;

// A write to do again on Redis: its own call of the remote store.
using JournalEntry = std::function<Status(Store& remote)>;

// Redis failed in a way that another try later may cure: answer locally meanwhile.
inline bool outage(const Error& error) {
  return error.kind == ErrorKind::Unavailable || error.kind == ErrorKind::Timeout;
}

class FallbackSwitch {
public:
  FallbackSwitch(Store& remote, Store& local, FallbackOptions options,
                 std::chrono::milliseconds replay_budget);

  // remote and local: callables Store& -> Result<T>. replay: the write again for Redis, or
  // empty for a read (and for a write Redis need not learn of: a greylist attempt).
  template <typename T, typename Remote, typename Local>
  Result<T> call(Remote remote, Local local, JournalEntry replay = {}) {
    std::lock_guard lock(mutex_);
    Result<T> answer = remote(remote_);
    if (answer.ok() || !outage(answer.error())) {
      redis_answered_locked();
      return answer;
    }
    fall_back_locked(answer.error().message);
    Result<T> here = local(local_);
    if (here.ok() && replay) {
      journal_locked(std::move(replay));
    }
    return here;
  }

  // Expiry sweeps: on both stores, each keeps its own data tidy. Redis' sweeps are mostly
  // its keys' TTLs (no call at all), so their answer says nothing about Redis being back.
  template <typename Work> Result<std::size_t> sweep(Work work) {
    std::lock_guard lock(mutex_);
    Result<std::size_t> here = work(local_);
    Result<std::size_t> there = work(remote_);
    return there.ok() ? there : here;
  }

  bool local() const;
  std::size_t journaled() const;

private:
  void fall_back_locked(const std::string& why);
  void journal_locked(JournalEntry entry);
  void redis_answered_locked(); // writes through what it can within the budget
  void count(FallbackCount what, std::uint64_t n = 1) const;

  Store& remote_;
  Store& local_;
  FallbackOptions options_;
  std::chrono::milliseconds replay_budget_;
  mutable std::mutex mutex_;
  bool answering_locally_ = false;
  bool full_reported_ = false; // this outage's journal_full report was made
  std::deque<JournalEntry> journal_;
  std::uint64_t replayed_ = 0; // in this outage, for the summary line
  std::uint64_t dropped_ = 0;
};

} // namespace backstop::state
