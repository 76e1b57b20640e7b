// primary_status_store: what the primary monitor learnt, kept across restarts: each backed-up
// domain's more-preferred hosts with their current state, and the history of every change
// (time, from, to, reason) for the admin side. Only changes are written, not every probe.
// Every operation is ONE atomic call, so a Redis backend is a drop-in (issue 16):
// record_change is one Lua script over a hash (current) and a capped list (history).
// Calls block: run them on the store's own thread (state/async_store.hpp).
#pragma once

#include "state/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace backstop::state {

struct PrimaryStatusChange {
  std::string domain;
  std::string host;
  std::string from; // "unknown", "up", "down"
  std::string to;
  std::int64_t at = 0; // unix seconds
  std::string reason;
};

struct PrimaryHostStatus {
  std::string domain;
  std::string host;
  std::string state;
  std::int64_t since = 0;
  std::string reason;
};

class PrimaryStatusStore {
public:
  virtual ~PrimaryStatusStore() = default;
  // Atomically: the host's current state becomes change.to, and the change is appended to
  // the history; history older than keep_seconds before change.at is dropped.
  virtual Status record_change(const PrimaryStatusChange& change, std::int64_t keep_seconds) = 0;
  // Every host's last recorded state, by domain and host.
  virtual Result<std::vector<PrimaryHostStatus>> current() = 0;
  // Changes since a time, oldest first, at most limit; domain "" = of every domain.
  virtual Result<std::vector<PrimaryStatusChange>>
  history(const std::string& domain, std::int64_t since, std::size_t limit) = 0;
};

} // namespace backstop::state
