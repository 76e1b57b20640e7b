// callout_rate_limiter: a sliding one-minute window and a running count per domain.
#include "delivery/callout_rate_limiter.hpp"

namespace backstop::delivery {

namespace {
constexpr auto window = std::chrono::minutes(1);
}

void CalloutRateLimiter::expire(Domain& domain, std::chrono::system_clock::time_point now) const {
  while (!domain.starts.empty() && now - domain.starts.front() >= window) {
    domain.starts.pop_front();
  }
}

// Names that senders make up must not pile up: entries with nothing running and nothing in
// the window carry no information.
void CalloutRateLimiter::sweep(std::chrono::system_clock::time_point now) {
  for (auto it = domains_.begin(); it != domains_.end();) {
    expire(it->second, now);
    it = it->second.running == 0 && it->second.starts.empty() ? domains_.erase(it) : std::next(it);
  }
}

CalloutRateLimiter::Admission CalloutRateLimiter::start(const std::string& domain,
                                                        std::size_t per_minute,
                                                        std::size_t concurrent) {
  const auto now = clock_.now();
  if (domains_.size() >= max_domains_ && domains_.find(domain) == domains_.end()) {
    sweep(now);
  }
  auto& entry = domains_[domain];
  expire(entry, now);
  if (entry.running >= concurrent) {
    return Admission::TooManyConcurrent;
  }
  if (entry.starts.size() >= per_minute) {
    return Admission::TooManyPerMinute;
  }
  entry.starts.push_back(now);
  ++entry.running;
  return Admission::Admitted;
}

void CalloutRateLimiter::finish(const std::string& domain) {
  auto it = domains_.find(domain);
  if (it != domains_.end() && it->second.running > 0) {
    --it->second.running;
  }
}

std::size_t CalloutRateLimiter::running(const std::string& domain) const {
  auto it = domains_.find(domain);
  return it == domains_.end() ? 0 : it->second.running;
}

} // namespace backstop::delivery
