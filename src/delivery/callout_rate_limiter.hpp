// callout_rate_limiter: how hard one third-party domain may be asked by sender callouts, so
// that backstop cannot be used to hammer it (a flood of forged senders at one domain costs
// that domain a few questions a minute, not one per message). Per target domain: at most N
// callouts started in any 60 seconds and M running at once; over either limit the callout is
// not made. Pure bookkeeping on an injectable clock; used on one loop only (no locks).
#pragma once

#include "mail/clock.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>

namespace backstop::delivery {

class CalloutRateLimiter {
public:
  explicit CalloutRateLimiter(const mail::Clock& clock, std::size_t max_domains = 10000)
      : clock_(clock), max_domains_(max_domains) {}

  enum class Admission { Admitted, TooManyPerMinute, TooManyConcurrent };
  // Admitted: a callout to domain starts now; the caller must call finish(domain) after it.
  Admission start(const std::string& domain, std::size_t per_minute, std::size_t concurrent);
  void finish(const std::string& domain);

  std::size_t running(const std::string& domain) const;
  std::size_t domains_tracked() const { return domains_.size(); }

private:
  struct Domain {
    std::deque<std::chrono::system_clock::time_point> starts; // within the last minute
    std::size_t running = 0;
  };
  void expire(Domain& domain, std::chrono::system_clock::time_point now) const;
  void sweep(std::chrono::system_clock::time_point now);

  const mail::Clock& clock_;
  std::size_t max_domains_; // idle entries are swept out beyond this many
  std::map<std::string, Domain, std::less<>> domains_;
};

} // namespace backstop::delivery
