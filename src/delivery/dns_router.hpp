// dns_router: the Router backstop runs with: a domain's configured `primary` list (tried in
// order, names resolved through DNS), else its MX hosts more preferred than this host
// (mx_selector). Mail for other domains (bounces to senders) goes to their MX hosts.
#pragma once

#include "delivery/mx_selector.hpp"
#include "delivery/router.hpp"
#include "dns/resolver.hpp"
#include "policy/destinations.hpp"

#include <map>
#include <random>
#include <spdlog/logger.h>

namespace backstop::delivery {

struct StaticHop {
  std::string host;
  std::uint16_t port = 25;
};

class DnsRouter final : public Router {
public:
  DnsRouter(dns::Resolver& resolver, LocalIdentity self,
            std::map<std::string, std::vector<StaticHop>> primaries, std::uint16_t mx_port,
            std::shared_ptr<spdlog::logger> log, policy::Destinations* destinations = nullptr);
  // After a reload (on the delivery loop): the new domains' primaries.
  void set_primaries(std::map<std::string, std::vector<StaticHop>> primaries);
  // On the delivery loop: per domain, the decoy MX hosts (names or addresses) of nolisting,
  // which refuse by design and are never a next hop (nor probed as the primary).
  void set_decoys(std::map<std::string, std::vector<std::string>> decoys);

  asio::awaitable<Route> route(const std::string& domain) override;

private:
  asio::awaitable<Route> route_static(const std::vector<StaticHop>& hops);
  asio::awaitable<Route> route_mx(const std::string& domain);
  void record(const std::string& domain, const MxSelection& selection);
  bool decoy(const std::string& domain, const std::string& host,
             const asio::ip::address& address) const;

  dns::Resolver& resolver_;
  LocalIdentity self_;
  std::map<std::string, std::vector<StaticHop>> primaries_;
  std::map<std::string, std::vector<std::string>> decoys_;
  std::uint16_t mx_port_;
  std::shared_ptr<spdlog::logger> log_;
  policy::Destinations* destinations_;
  std::mt19937 random_{std::random_device{}()};
};

} // namespace backstop::delivery
