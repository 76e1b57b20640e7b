// destinations: a small map under a reader-writer lock; RCPTs only read it.
#include "policy/destinations.hpp"

namespace backstop::policy {

void Destinations::track(std::set<std::string> domains) {
  std::unique_lock lock(mutex_);
  tracked_ = std::move(domains);
  for (auto it = nowhere_.begin(); it != nowhere_.end();) {
    it = tracked_.count(it->first) != 0 ? std::next(it) : nowhere_.erase(it);
  }
  any_nowhere_ = !nowhere_.empty();
}

bool Destinations::tracked(const std::string& domain) const {
  std::shared_lock lock(mutex_);
  return tracked_.count(domain) != 0;
}

bool Destinations::set(const std::string& domain, std::optional<std::string> nowhere) {
  std::unique_lock lock(mutex_);
  if (tracked_.count(domain) == 0) {
    return false;
  }
  auto it = nowhere_.find(domain);
  if (!nowhere) {
    if (it == nowhere_.end()) {
      return false;
    }
    nowhere_.erase(it);
    any_nowhere_ = !nowhere_.empty();
    return true;
  }
  if (it != nowhere_.end() && it->second == *nowhere) {
    return false;
  }
  nowhere_[domain] = std::move(*nowhere);
  any_nowhere_ = true;
  return true;
}

std::optional<std::string> Destinations::nowhere(const std::string& domain) const {
  if (!any_nowhere_.load(std::memory_order_acquire)) {
    return std::nullopt;
  }
  std::shared_lock lock(mutex_);
  auto it = nowhere_.find(domain);
  if (it == nowhere_.end()) {
    return std::nullopt;
  }
  return it->second;
}

} // namespace backstop::policy
