// skipped_primary_hosts: the more-preferred MX hosts of a recipient domain, for the
// skipped-primary check: the domain's own list ([checks.skipped_primary.domain."<d>"]
// preferred), else the check's list for every domain (preferred), else the domain's MX
// records: the exchanges with a lower preference than our own record (a name of ours or one
// of `our_hosts`). Not one of the domain's MX hosts, or none more preferred: no hosts.
#pragma once

#include "policy/check_registry.hpp"

#include <asio/awaitable.hpp>
#include <map>
#include <string>
#include <vector>

namespace backstop::checks {

class PreferredHosts {
public:
  asio::awaitable<std::vector<std::string>> of(const std::string& domain,
                                               const policy::CheckServices& services) const;

  std::map<std::string, std::vector<std::string>, std::less<>> per_domain;
  std::vector<std::string> every_domain;
  std::vector<std::string> our_hosts; // our MX names beside the names of this host
  bool mx_lookup = true;
};

// Reads preferred, our_hosts, mx_lookup and domain."<d>".preferred.
PreferredHosts read_preferred_hosts(policy::Settings& settings);

// From one MX answer: the exchanges more preferred than the best record that is_ours.
std::vector<std::string> more_preferred(const std::vector<dns::MxRecord>& records,
                                        const std::function<bool(std::string_view)>& is_ours);

} // namespace backstop::checks
