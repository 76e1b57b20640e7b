// primary_status: the one notion of "is this backed-up domain's primary up", as policy and
// delivery see it. monitor::PrimaryMonitor implements it (probes, ETRN heartbeats and what
// deliveries and callouts report); the primary_up check reads it at RCPT, the callout client
// and the scheduler report what their connections saw. Every method may be called from any
// thread and never waits for another one (a mutex, no hop), since sessions ask on their loop.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace backstop::policy {

enum class PrimaryState { Unknown, Up, Down };

inline const char* to_string(PrimaryState state) {
  switch (state) {
  case PrimaryState::Up:
    return "up";
  case PrimaryState::Down:
    return "down";
  case PrimaryState::Unknown:
    break;
  }
  return "unknown";
}

struct PrimaryView {
  PrimaryState state = PrimaryState::Unknown;
  std::string host;   // Up: a more-preferred host that answers ("heartbeat" for an ETRN one)
  std::string reason; // why the state is what it is, for logs
};

class PrimaryStatus {
public:
  using SteadyClock = std::chrono::steady_clock;
  virtual ~PrimaryStatus() = default;

  // Up when any more-preferred host of the domain answers (or a heartbeat is fresh), Down
  // when every one is down, Unknown otherwise (not probed yet, a domain we do not back up).
  virtual PrimaryView domain(std::string_view domain) const = 0;

  // Evidence from connections made for other reasons: a delivery or callout that reached
  // host (one of domain's more-preferred hosts) proves it alive; one that could not connect
  // or stalled counts as a failed probe.
  virtual void alive(std::string_view domain, std::string_view host, std::string_view why) = 0;
  virtual void failed(std::string_view domain, std::string_view host, std::string_view why) = 0;
  // An ETRN from an allowed client: the domain's primary is alive for the heartbeat window.
  virtual void heartbeat(std::string_view domain, std::string_view client) = 0;

  // Callouts: every primary of the domain is backing off until `until`, so callouts answer
  // "cannot tell" at once, on the asker's loop, instead of hopping to the delivery loop.
  virtual void backing_off(std::string_view domain, SteadyClock::time_point until,
                           std::string why) = 0;
  virtual std::optional<std::string> why_backing_off(std::string_view domain,
                                                     SteadyClock::time_point now) const = 0;
  // After a reload (routes may have changed): no domain backs off any more.
  virtual void clear_backoff() = 0;
};

} // namespace backstop::policy
