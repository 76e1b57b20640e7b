// sender_callout_cache: a map with lifetimes and an insertion order for the bound.
#include "checks/sender_callout_cache.hpp"

namespace backstop::checks {

std::string SenderCalloutCache::address_key(const mail::Address& address) {
  // Local parts are case-sensitive in principle but not in practice (RFC 5321 2.4): one
  // entry per mailbox, whatever case a spammer forges.
  return "a:" + mail::ascii_lower(address.local) + "@" + address.domain;
}

std::string SenderCalloutCache::domain_key(const std::string& domain) { return "d:" + domain; }

void SenderCalloutCache::erase(std::map<std::string, Entry, std::less<>>::iterator it) {
  order_.erase(it->second.position);
  entries_.erase(it);
}

std::optional<CalloutMemory> SenderCalloutCache::find(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  if (clock_.now() >= it->second.memory.expires) {
    erase(it);
    return std::nullopt;
  }
  return it->second.memory;
}

void SenderCalloutCache::remember(const std::string& key, policy::SenderAnswer answer,
                                  std::string reply, std::chrono::seconds lifetime) {
  if (lifetime <= std::chrono::seconds::zero()) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    erase(it);
  }
  while (entries_.size() >= max_entries_) {
    erase(entries_.find(order_.front()));
  }
  order_.push_back(key);
  entries_.emplace(
      key, Entry{{answer, std::move(reply), clock_.now() + lifetime}, std::prev(order_.end())});
}

std::size_t SenderCalloutCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

} // namespace backstop::checks
