// greylist_memory: a map of "good until" times under one mutex.
#include "checks/greylist_memory.hpp"

namespace backstop::checks {

bool GreylistMemory::known(const std::string& key, std::int64_t now) const {
  std::lock_guard lock(mutex_);
  auto it = until_.find(key);
  return it != until_.end() && it->second > now;
}

void GreylistMemory::remember(const std::string& key, std::int64_t until, std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (until_.size() >= capacity_ && !until_.contains(key)) {
    std::erase_if(until_, [now](const auto& entry) { return entry.second <= now; });
    if (until_.size() >= capacity_) {
      until_.clear();
    }
  }
  until_[key] = until;
}

} // namespace backstop::checks
