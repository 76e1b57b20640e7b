// dns_router: primary list or MX selection, to endpoints.
#include "delivery/dns_router.hpp"

namespace backstop::delivery {

DnsRouter::DnsRouter(dns::Resolver& resolver, LocalIdentity self,
                     std::map<std::string, std::vector<StaticHop>> primaries, std::uint16_t mx_port,
                     std::shared_ptr<spdlog::logger> log)
    : resolver_(resolver), self_(std::move(self)), primaries_(std::move(primaries)),
      mx_port_(mx_port), log_(std::move(log)) {}

asio::awaitable<Route> DnsRouter::route(const std::string& domain) {
  auto it = primaries_.find(domain);
  if (it != primaries_.end() && !it->second.empty()) {
    co_return co_await route_static(it->second);
  }
  co_return co_await route_mx(domain);
}

asio::awaitable<Route> DnsRouter::route_static(const std::vector<StaticHop>& hops) {
  Route route;
  std::string errors;
  for (const auto& hop : hops) {
    std::error_code ec;
    auto literal = asio::ip::make_address(hop.host, ec);
    if (!ec) {
      route.hops.push_back({hop.host, {literal, hop.port}});
      continue;
    }
    auto answer = co_await resolver_.addresses(hop.host);
    if (answer.status != dns::Status::Found) {
      errors += (errors.empty() ? "" : "; ") + std::string("cannot resolve primary ") + hop.host;
      continue;
    }
    for (const auto& a : answer.addresses) {
      route.hops.push_back({hop.host, {a, hop.port}});
    }
  }
  if (route.hops.empty()) {
    route.error = errors;
  }
  co_return route;
}

asio::awaitable<Route> DnsRouter::route_mx(const std::string& domain) {
  MxInput input;
  input.domain = domain;
  input.mx = co_await resolver_.mx(domain);
  if (input.mx.status == dns::Status::NoData) {
    input.domain_addresses = co_await resolver_.addresses(domain);
  }
  for (const auto& r : input.mx.records) {
    if (!r.exchange.empty() && input.exchange_addresses.count(r.exchange) == 0) {
      input.exchange_addresses[r.exchange] = co_await resolver_.addresses(r.exchange);
    }
  }
  const MxSelection selection = select_mx(input, self_, random_);
  Route route;
  if (selection.targets.empty()) {
    route.error = selection.error;
    route.permanent = selection.permanent;
    if (selection.mail_loop) {
      log_->error("{}: {}; check the MX records and this host's hostname/local_names", domain,
                  selection.error);
    }
    co_return route;
  }
  for (const auto& t : selection.targets) {
    for (const auto& a : t.addresses) {
      route.hops.push_back({t.host, {a, mx_port_}});
    }
  }
  co_return route;
}

} // namespace backstop::delivery
