// sender_callout_cache: what sender callouts answered, remembered in memory for a while so
// that a sender's MX is asked once per lifetime, not once per message. Keys are an address
// ("a:user@example.org") or a whole domain ("d:example.org"); each entry has its own
// lifetime. Bounded: beyond max_entries the oldest entry goes. Shared by the sessions of
// every loop (a mutex). Lives as long as the check, so a reload starts it afresh; the state
// store will hold it once it has a place for it.
#pragma once

#include "mail/clock.hpp"
#include "policy/sender_prober.hpp"

#include <chrono>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace backstop::checks {

struct CalloutMemory {
  policy::SenderAnswer answer = policy::SenderAnswer::CannotTell;
  std::string reply; // the MX's reply (or why it could not be asked) when it was learnt
  std::chrono::system_clock::time_point expires;
};

class SenderCalloutCache {
public:
  SenderCalloutCache(const mail::Clock& clock, std::size_t max_entries)
      : clock_(clock), max_entries_(max_entries == 0 ? 1 : max_entries) {}

  // nullopt when unknown or expired (an expired entry is dropped).
  std::optional<CalloutMemory> find(const std::string& key);
  void remember(const std::string& key, policy::SenderAnswer answer, std::string reply,
                std::chrono::seconds lifetime);
  std::size_t size() const;

  static std::string address_key(const mail::Address& address);
  static std::string domain_key(const std::string& domain);

private:
  struct Entry {
    CalloutMemory memory;
    std::list<std::string>::iterator position; // in order_
  };
  void erase(std::map<std::string, Entry, std::less<>>::iterator it);

  const mail::Clock& clock_;
  std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::list<std::string> order_; // oldest remembered first
};

} // namespace backstop::checks
