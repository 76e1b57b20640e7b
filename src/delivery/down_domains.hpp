// down_domains: the domains whose every primary is known to be down, and until when, readable
// from any thread. A callout for such a domain is answered "cannot tell" on the asking
// session's own loop, instead of hopping to the delivery loop to learn what is known already.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace backstop::delivery {

class DownDomains {
public:
  using Clock = std::chrono::steady_clock;

  void mark(const std::string& domain, Clock::time_point until, std::string why);
  // Why the domain's primaries are down, while they are; nullopt otherwise.
  std::optional<std::string> why_down(const std::string& domain, Clock::time_point now) const;
  void clear();

private:
  struct Down {
    Clock::time_point until;
    std::string why;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Down, std::less<>> domains_;
};

} // namespace backstop::delivery
