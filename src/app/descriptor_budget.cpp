// descriptor_budget: the open files backstop keeps back from its SMTP sessions.
#include "app/descriptor_budget.hpp"

#include <algorithm>

namespace backstop::app {

namespace {

// Without [dns] servers c-ares reads resolv.conf, which names at most three.
constexpr std::size_t system_resolver_servers = 3;

std::size_t dns_descriptors(const Config& config, std::size_t event_loops) {
  const std::size_t servers =
      config.dns.servers.empty() ? system_resolver_servers : config.dns.servers.size();
  const std::size_t resolvers = event_loops + 1; // one per session loop, one for delivery
  return resolvers * servers * 2;                // a UDP and a TCP socket per server
}

std::size_t callout_descriptors(const Config& config) {
  // One pool per primary; a domain without configured primaries still has its MX hosts.
  std::size_t primaries = 0;
  for (const auto& domain : config.domains) {
    primaries += std::max<std::size_t>(domain.primary.size(), 1);
  }
  return primaries * config.verify.max_connections_per_primary;
}

} // namespace

std::size_t reserved_descriptors(const Config& config, std::size_t event_loops) {
  return fixed_descriptors + event_loops * descriptors_per_loop +
         dns_descriptors(config, event_loops) + config.delivery.max_connections +
         callout_descriptors(config) + spool_and_control_descriptors;
}

} // namespace backstop::app
