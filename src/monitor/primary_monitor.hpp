// primary_monitor: the one notion of "is the primary up" per backed-up domain and per
// more-preferred host (policy::PrimaryStatus). Probes (monitor/prober), deliveries and
// callouts report successes and failures; a host is called down after down_after failures in
// a row and up again after up_after successes in a row (hysteresis), and the first result
// after a start decides at once. A domain is up while any of its more-preferred hosts is (the
// cascade: a second backup MX more preferred than us counts), or while an ETRN heartbeat is
// fresh. Decoy hosts (nolisting) are never counted. Every change of a host's state is handed
// to on_change (app writes it to the state store: its history).
//
// Readable and writable from any thread: one mutex around small maps, never held across a
// wait, so sessions ask it at RCPT on their own loop without a hop.
#pragma once

#include "mail/clock.hpp"
#include "policy/primary_status.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace backstop::monitor {

struct MonitorOptions {
  std::chrono::seconds probe_interval{60};  // 0: no probes (evidence and heartbeats only)
  std::chrono::seconds probe_timeout{10};   // a whole probe: connect, banner, EHLO, QUIT
  std::uint32_t down_after = 3;             // failures in a row that call an up host down
  std::uint32_t up_after = 2;               // successes in a row that call a down host up
  std::chrono::seconds heartbeat_window{0}; // an ETRN proves the primary alive this long; 0: off
};

// One change of a host's state, as kept in the history.
struct StateChange {
  std::string domain;
  std::string host;
  policy::PrimaryState from = policy::PrimaryState::Unknown;
  policy::PrimaryState to = policy::PrimaryState::Unknown;
  std::int64_t at = 0; // unix seconds
  std::string reason;  // "probe: 220 ... / EHLO 250", "delivery: connection refused"
};

// What the monitor knows about one host, for the admin side and tests.
struct HostReport {
  std::string domain;
  std::string host;
  policy::PrimaryState state = policy::PrimaryState::Unknown;
  std::uint32_t failures = 0;  // in a row
  std::uint32_t successes = 0; // in a row
  std::int64_t since = 0;      // unix seconds of the last change
  std::int64_t checked_at = 0; // of the last evidence
  std::string reason;
};

class PrimaryMonitor final : public policy::PrimaryStatus {
public:
  using OnChange = std::function<void(const StateChange&)>;

  PrimaryMonitor(MonitorOptions options, const mail::Clock& clock, OnChange on_change = {});

  // The backed-up domains and their decoys (names or addresses never taken for a primary).
  // Hosts of domains no longer listed are forgotten.
  void set_domains(std::map<std::string, std::vector<std::string>> decoys_by_domain);
  // The domain's more-preferred hosts, in preference order, as routing found them (the
  // prober, on each pass). Hosts no longer routed to are forgotten.
  void set_hosts(const std::string& domain, const std::vector<std::string>& hosts);
  bool is_decoy(std::string_view domain, std::string_view host_or_address) const;
  const MonitorOptions& options() const { return options_; }

  policy::PrimaryView domain(std::string_view domain) const override;
  void alive(std::string_view domain, std::string_view host, std::string_view why) override;
  void failed(std::string_view domain, std::string_view host, std::string_view why) override;
  void heartbeat(std::string_view domain, std::string_view client) override;
  void backing_off(std::string_view domain, SteadyClock::time_point until,
                   std::string why) override;
  std::optional<std::string> why_backing_off(std::string_view domain,
                                             SteadyClock::time_point now) const override;
  void clear_backoff() override;

  std::vector<HostReport> hosts() const;
  // The backed-up domains it watches (set_domains), sorted.
  std::vector<std::string> domain_names() const;

private:
  struct Host {
    policy::PrimaryState state = policy::PrimaryState::Unknown;
    std::uint32_t failures = 0;
    std::uint32_t successes = 0;
    std::int64_t since = 0;
    std::int64_t checked_at = 0;
    std::string reason;
  };
  struct Domain {
    std::set<std::string, std::less<>> decoys;
    std::vector<std::string> order;                 // more-preferred hosts, best first
    std::map<std::string, Host, std::less<>> hosts; // by name
    std::chrono::system_clock::time_point heartbeat_until{};
    std::string heartbeat_from;
    SteadyClock::time_point backoff_until{};
    std::string backoff_why;
  };

  // Applies one result to a host; the change to report, if its state changed.
  std::optional<StateChange> apply(const std::string& domain_name, Domain& domain,
                                   std::string_view host, bool success, std::string_view why);
  void report(const std::optional<StateChange>& change) const;

  MonitorOptions options_;
  const mail::Clock& clock_;
  OnChange on_change_;
  mutable std::mutex mutex_;
  std::map<std::string, Domain, std::less<>> domains_;
};

} // namespace backstop::monitor
