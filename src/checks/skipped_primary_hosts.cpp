// skipped_primary_hosts: configured lists first, the domain's MX records otherwise.
#include "checks/skipped_primary_hosts.hpp"

#include "mail/address.hpp"

#include <algorithm>
#include <limits>

namespace backstop::checks {

namespace {

std::vector<std::string> normalized(std::vector<std::string> names) {
  for (auto& n : names) {
    n = mail::normalize_domain(n);
  }
  return names;
}

} // namespace

std::vector<std::string> more_preferred(const std::vector<dns::MxRecord>& records,
                                        const std::function<bool(std::string_view)>& is_ours) {
  unsigned ours = std::numeric_limits<unsigned>::max();
  bool listed = false;
  for (const auto& r : records) {
    if (!r.exchange.empty() && is_ours(r.exchange)) {
      ours = std::min(ours, r.preference);
      listed = true;
    }
  }
  std::vector<std::string> out;
  if (!listed) {
    return out; // not one of the domain's MX hosts: "less preferred" means nothing here
  }
  for (const auto& r : records) {
    if (!r.exchange.empty() && r.preference < ours && !is_ours(r.exchange) &&
        std::find(out.begin(), out.end(), r.exchange) == out.end()) {
      out.push_back(r.exchange);
    }
  }
  return out;
}

asio::awaitable<std::vector<std::string>>
PreferredHosts::of(const std::string& domain, const policy::CheckServices& services) const {
  if (auto it = per_domain.find(domain); it != per_domain.end()) {
    co_return it->second;
  }
  if (!every_domain.empty() || !mx_lookup || services.resolver == nullptr) {
    co_return every_domain;
  }
  auto answer = co_await services.resolver->mx(domain);
  if (answer.status != dns::Status::Found) {
    co_return std::vector<std::string>{}; // DNS trouble never counts against a client
  }
  const auto is_ours = [&](std::string_view name) {
    return std::find(our_hosts.begin(), our_hosts.end(), name) != our_hosts.end() ||
           (services.is_local_name && services.is_local_name(name));
  };
  co_return more_preferred(answer.records, is_ours);
}

PreferredHosts read_preferred_hosts(policy::Settings& settings) {
  PreferredHosts hosts;
  settings.strings("preferred", hosts.every_domain);
  settings.strings("our_hosts", hosts.our_hosts);
  settings.boolean("mx_lookup", hosts.mx_lookup);
  hosts.every_domain = normalized(std::move(hosts.every_domain));
  hosts.our_hosts = normalized(std::move(hosts.our_hosts));
  for (auto& [domain, table] : settings.tables("domain")) {
    std::vector<std::string> list;
    table->strings("preferred", list);
    if (table->has("preferred")) {
      hosts.per_domain[mail::normalize_domain(domain)] = normalized(std::move(list));
    }
  }
  return hosts;
}

} // namespace backstop::checks
