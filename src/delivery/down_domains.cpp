// down_domains: a small map behind a mutex; entries end by themselves at their time.
#include "delivery/down_domains.hpp"

namespace backstop::delivery {

void DownDomains::mark(const std::string& domain, Clock::time_point until, std::string why) {
  std::lock_guard lock(mutex_);
  domains_[domain] = Down{until, std::move(why)};
}

std::optional<std::string> DownDomains::why_down(const std::string& domain,
                                                 Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto found = domains_.find(domain);
  if (found == domains_.end() || found->second.until <= now) {
    return std::nullopt;
  }
  return found->second.why;
}

void DownDomains::clear() {
  std::lock_guard lock(mutex_);
  domains_.clear();
}

} // namespace backstop::delivery
