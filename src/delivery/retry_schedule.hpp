// retry_schedule: when to try a deferred recipient again, and when to give up. Exponential
// back-off from `initial` doubling up to `maximum` (defaults 5 minutes and 1 hour), so a
// primary that is back is found quickly and a long outage costs few attempts.
#pragma once

#include <chrono>
#include <cstdint>

namespace backstop::delivery {

struct RetryPolicy {
  std::chrono::seconds initial{300};
  std::chrono::seconds maximum{3600};
  std::chrono::seconds delay_warning{4 * 3600}; // 0 = no delay notices
  std::chrono::seconds max_lifetime{5 * 86400};
};

class RetrySchedule {
public:
  explicit RetrySchedule(RetryPolicy policy) : policy_(policy) {}

  // attempts: failed attempts so far, this one included (>= 1).
  std::int64_t next_attempt(std::int64_t now_unix, std::uint32_t attempts) const;
  bool expired(std::int64_t arrival_unix, std::int64_t now_unix) const;
  bool delay_notice_due(std::int64_t arrival_unix, std::int64_t now_unix) const;
  const RetryPolicy& policy() const { return policy_; }

private:
  RetryPolicy policy_;
};

} // namespace backstop::delivery
