// connection_rate_table: token buckets with an LRU bound.
#include "checks/connection_rate_table.hpp"

#include <algorithm>

namespace backstop::checks {

double RateTable::refilled(const Bucket& b, time_point now) const {
  // A clock that stepped back refills nothing rather than draining.
  const double seconds = std::max(0.0, std::chrono::duration<double>(now - b.last).count());
  return std::min(per_minute_, b.tokens + seconds * per_minute_ / 60.0);
}

// The oldest buckets that are full again carry no history: drop them (amortised O(1)).
void RateTable::forget_idle(time_point now) {
  while (!seen_.empty()) {
    auto it = buckets_.find(seen_.back());
    if (refilled(it->second, now) < per_minute_) {
      break;
    }
    buckets_.erase(it);
    seen_.pop_back();
  }
}

RateTable::Bucket& RateTable::touch(const std::string& key, time_point now) {
  auto it = buckets_.find(key);
  if (it != buckets_.end()) {
    it->second.tokens = refilled(it->second, now);
    it->second.last = now;
    seen_.splice(seen_.begin(), seen_, it->second.age);
    return it->second;
  }
  forget_idle(now);
  while (!seen_.empty() && buckets_.size() >= max_tracked_) {
    buckets_.erase(seen_.back());
    seen_.pop_back();
  }
  seen_.push_front(key);
  return buckets_[key] = Bucket{per_minute_, now, seen_.begin()};
}

bool RateTable::available(const std::string& key, time_point now) {
  return touch(key, now).tokens >= 1.0;
}

void RateTable::take(const std::string& key) {
  if (auto it = buckets_.find(key); it != buckets_.end()) {
    it->second.tokens -= 1.0;
  }
}

} // namespace backstop::checks
