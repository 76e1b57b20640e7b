// retry_schedule: back-off arithmetic.
#include "delivery/retry_schedule.hpp"

#include <algorithm>

namespace backstop::delivery {

std::int64_t RetrySchedule::next_attempt(std::int64_t now_unix, std::uint32_t attempts) const {
  std::int64_t delay = policy_.initial.count();
  const std::int64_t cap = std::max(policy_.maximum.count(), delay);
  for (std::uint32_t i = 1; i < attempts && delay < cap; ++i) {
    delay *= 2;
  }
  return now_unix + std::min(delay, cap);
}

bool RetrySchedule::expired(std::int64_t arrival_unix, std::int64_t now_unix) const {
  return now_unix - arrival_unix >= policy_.max_lifetime.count();
}

bool RetrySchedule::delay_notice_due(std::int64_t arrival_unix, std::int64_t now_unix) const {
  return policy_.delay_warning.count() > 0 &&
         now_unix - arrival_unix >= policy_.delay_warning.count();
}

} // namespace backstop::delivery
