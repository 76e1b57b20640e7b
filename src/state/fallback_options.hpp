// fallback_options: how the Redis backend falls back to the local SQLite store while Redis
// fails (state/fallback_store.hpp), and what it tells the server about it: each switch
// between Redis and the local store (a log line, the state_fallback_active gauge) and the
// numbers of its work (counters). The server turns it on; the CLI asks Redis only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace backstop::state {

enum class FallbackCount {
  AnsweredLocally, // a call Redis failed (unavailable, timeout) that the local store answered
  Journaled,       // a write answered locally, kept to be written through to Redis
  Replayed,        // a journaled write written through to Redis
  Dropped,         // a journaled write given up: the journal was full (the oldest goes)
};

struct FallbackOptions {
  bool enabled = false; // backend "redis": the local store at [state] path answers outages
  std::size_t journal_limit = 10000; // journaled writes kept; beyond it the oldest is dropped
  // Each switch: local = true when calls start being answered locally (why: Redis' error),
  // false once Redis answers again and the journal has been written through (a summary).
  std::function<void(bool local, const std::string& why)> switched{};
  std::function<void(FallbackCount what, std::uint64_t n)> count{};
  std::function<void(std::size_t limit)> journal_full{}; // once per outage, at the first drop
};

} // namespace backstop::state
