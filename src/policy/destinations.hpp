// destinations: whether mail accepted for a backed-up domain could ever be delivered. When
// this host is the domain's best MX and no primary is configured, there is nowhere to send
// it: accepting it would only end in an expiry bounce (backscatter), so RCPT defers instead.
// Delivery's router writes what it learns; sessions read it without waiting on anything.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>

namespace backstop::policy {

class Destinations {
public:
  // The backed-up domains to keep track of; others (bounce destinations) are ignored.
  void track(std::set<std::string> domains);
  bool tracked(const std::string& domain) const;
  // nowhere: why nothing can receive mail for the domain; nullopt once a route is found.
  // Returns true when the state changed (the caller logs the change).
  bool set(const std::string& domain, std::optional<std::string> nowhere);
  std::optional<std::string> nowhere(const std::string& domain) const;

private:
  mutable std::shared_mutex mutex_;
  std::set<std::string> tracked_;
  std::map<std::string, std::string, std::less<>> nowhere_;
  std::atomic<bool> any_nowhere_{false}; // the usual case, every domain routable: no lock
};

} // namespace backstop::policy
