// primary_monitor: the hysteresis per host and the cascade per domain.
#include "monitor/primary_monitor.hpp"

#include "mail/address.hpp"

#include <algorithm>

namespace backstop::monitor {

using policy::PrimaryState;

PrimaryMonitor::PrimaryMonitor(MonitorOptions options, const mail::Clock& clock, OnChange on_change)
    : options_(options), clock_(clock), on_change_(std::move(on_change)) {
  options_.down_after = std::max<std::uint32_t>(1, options_.down_after);
  options_.up_after = std::max<std::uint32_t>(1, options_.up_after);
}

void PrimaryMonitor::set_domains(std::map<std::string, std::vector<std::string>> decoys) {
  std::lock_guard lock(mutex_);
  std::erase_if(domains_, [&](const auto& d) { return decoys.count(d.first) == 0; });
  for (auto& [name, list] : decoys) {
    auto& domain = domains_[name];
    domain.decoys.clear();
    for (const auto& d : list) {
      domain.decoys.insert(mail::normalize_domain(d));
    }
    std::erase_if(domain.hosts, [&](const auto& h) { return domain.decoys.count(h.first) != 0; });
    std::erase_if(domain.order, [&](const auto& h) { return domain.decoys.count(h) != 0; });
  }
}

void PrimaryMonitor::set_hosts(const std::string& name, const std::vector<std::string>& hosts) {
  std::lock_guard lock(mutex_);
  auto found = domains_.find(name);
  if (found == domains_.end()) {
    return;
  }
  auto& domain = found->second;
  domain.order.clear();
  for (const auto& h : hosts) {
    const auto host = mail::normalize_domain(h);
    if (domain.decoys.count(host) == 0 &&
        std::find(domain.order.begin(), domain.order.end(), host) == domain.order.end()) {
      domain.order.push_back(host);
    }
  }
  std::erase_if(domain.hosts, [&](const auto& h) {
    return std::find(domain.order.begin(), domain.order.end(), h.first) == domain.order.end();
  });
}

bool PrimaryMonitor::is_decoy(std::string_view domain, std::string_view host) const {
  std::lock_guard lock(mutex_);
  auto found = domains_.find(domain);
  return found != domains_.end() && found->second.decoys.count(mail::normalize_domain(host)) != 0;
}

policy::PrimaryView PrimaryMonitor::domain(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto found = domains_.find(name);
  if (found == domains_.end()) {
    return {PrimaryState::Unknown, "", "not a backed-up domain"};
  }
  const auto& domain = found->second;
  if (clock_.now() < domain.heartbeat_until) {
    return {PrimaryState::Up, "heartbeat", "ETRN heartbeat from " + domain.heartbeat_from};
  }
  bool all_down = !domain.order.empty();
  std::string why;
  for (const auto& host_name : domain.order) {
    auto host = domain.hosts.find(host_name);
    if (host == domain.hosts.end() || host->second.state == PrimaryState::Unknown) {
      all_down = false;
      continue;
    }
    if (host->second.state == PrimaryState::Up) {
      return {PrimaryState::Up, host_name, host->second.reason};
    }
    why += (why.empty() ? "" : "; ") + host_name + ": " + host->second.reason;
  }
  if (all_down) {
    return {PrimaryState::Down, "", why};
  }
  return {PrimaryState::Unknown, "",
          domain.order.empty() ? "no more-preferred host known yet" : "not probed yet"};
}

std::optional<StateChange> PrimaryMonitor::apply(const std::string& domain_name, Domain& domain,
                                                 std::string_view host_name, bool success,
                                                 std::string_view why) {
  const std::string name = mail::normalize_domain(host_name);
  if (name.empty() || domain.decoys.count(name) != 0) {
    return std::nullopt; // a nolisting decoy refuses by design: no evidence either way
  }
  if (std::find(domain.order.begin(), domain.order.end(), name) == domain.order.end()) {
    domain.order.push_back(name); // evidence before the prober routed the domain
  }
  auto& host = domain.hosts[name];
  const std::int64_t now = clock_.now_unix();
  host.checked_at = now;
  host.reason = std::string(why);
  if (success) {
    host.failures = 0;
    ++host.successes;
  } else {
    host.successes = 0;
    ++host.failures;
  }
  PrimaryState next = host.state;
  if (host.state == PrimaryState::Unknown) {
    next = success ? PrimaryState::Up : PrimaryState::Down; // the first result decides
  } else if (host.state == PrimaryState::Up && host.failures >= options_.down_after) {
    next = PrimaryState::Down;
  } else if (host.state == PrimaryState::Down && host.successes >= options_.up_after) {
    next = PrimaryState::Up;
  }
  if (next == host.state) {
    return std::nullopt;
  }
  StateChange change{domain_name, name, host.state, next, now, std::string(why)};
  host.state = next;
  host.since = now;
  return change;
}

void PrimaryMonitor::report(const std::optional<StateChange>& change) const {
  if (change && on_change_) {
    on_change_(*change);
  }
}

void PrimaryMonitor::alive(std::string_view name, std::string_view host, std::string_view why) {
  std::optional<StateChange> change;
  {
    std::lock_guard lock(mutex_);
    auto found = domains_.find(name);
    if (found == domains_.end()) {
      return;
    }
    change = apply(found->first, found->second, host, true, why);
  }
  report(change);
}

void PrimaryMonitor::failed(std::string_view name, std::string_view host, std::string_view why) {
  std::optional<StateChange> change;
  {
    std::lock_guard lock(mutex_);
    auto found = domains_.find(name);
    if (found == domains_.end()) {
      return;
    }
    change = apply(found->first, found->second, host, false, why);
  }
  report(change);
}

void PrimaryMonitor::heartbeat(std::string_view name, std::string_view client) {
  if (options_.heartbeat_window.count() == 0) {
    return;
  }
  std::lock_guard lock(mutex_);
  auto found = domains_.find(name);
  if (found != domains_.end()) {
    found->second.heartbeat_until = clock_.now() + options_.heartbeat_window;
    found->second.heartbeat_from = std::string(client);
  }
}

void PrimaryMonitor::backing_off(std::string_view name, SteadyClock::time_point until,
                                 std::string why) {
  std::lock_guard lock(mutex_);
  auto found = domains_.find(name);
  if (found != domains_.end()) {
    found->second.backoff_until = until;
    found->second.backoff_why = std::move(why);
  }
}

std::optional<std::string> PrimaryMonitor::why_backing_off(std::string_view name,
                                                           SteadyClock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto found = domains_.find(name);
  if (found == domains_.end() || found->second.backoff_until <= now) {
    return std::nullopt;
  }
  return found->second.backoff_why;
}

void PrimaryMonitor::clear_backoff() {
  std::lock_guard lock(mutex_);
  for (auto& [name, domain] : domains_) {
    domain.backoff_until = {};
  }
}

std::vector<HostReport> PrimaryMonitor::hosts() const {
  std::lock_guard lock(mutex_);
  std::vector<HostReport> out;
  for (const auto& [name, domain] : domains_) {
    for (const auto& host : domain.order) {
      auto h = domain.hosts.find(host);
      if (h == domain.hosts.end()) {
        out.push_back({name, host, PrimaryState::Unknown, 0, 0, 0, 0, "not probed yet"});
        continue;
      }
      out.push_back({name, host, h->second.state, h->second.failures, h->second.successes,
                     h->second.since, h->second.checked_at, h->second.reason});
    }
  }
  return out;
}

std::vector<std::string> PrimaryMonitor::domain_names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, domain] : domains_) {
    out.push_back(name);
  }
  return out;
}

} // namespace backstop::monitor
