// dns_router: primary list or MX selection, to endpoints.
#include "delivery/dns_router.hpp"

#include "mail/address.hpp"

namespace backstop::delivery {

DnsRouter::DnsRouter(dns::Resolver& resolver, LocalIdentity self,
                     std::map<std::string, std::vector<StaticHop>> primaries, std::uint16_t mx_port,
                     std::shared_ptr<spdlog::logger> log, policy::Destinations* destinations)
    : resolver_(resolver), self_(std::move(self)), primaries_(std::move(primaries)),
      mx_port_(mx_port), log_(std::move(log)), destinations_(destinations) {}

void DnsRouter::set_primaries(std::map<std::string, std::vector<StaticHop>> primaries) {
  primaries_ = std::move(primaries);
}

void DnsRouter::set_decoys(std::map<std::string, std::vector<std::string>> decoys) {
  decoys_ = std::move(decoys);
}

bool DnsRouter::decoy(const std::string& domain, const std::string& host,
                      const asio::ip::address& address) const {
  auto found = decoys_.find(domain);
  if (found == decoys_.end()) {
    return false;
  }
  const std::string name = mail::normalize_domain(host);
  for (const auto& d : found->second) {
    std::error_code ec;
    const auto literal = asio::ip::make_address(d, ec);
    if (ec ? mail::normalize_domain(d) == name : literal == address) {
      return true;
    }
  }
  return false;
}

// What a backed-up domain's MX records say about delivery, for RCPT time. A mail loop is
// logged when it is found (and when it ends), not on every lookup.
void DnsRouter::record(const std::string& domain, const MxSelection& selection) {
  const bool tracked = destinations_ != nullptr && destinations_->tracked(domain);
  if (selection.mail_loop) {
    const std::string why =
        "this host is the best MX for " + domain + " and no primary is configured: mail loop";
    if (!tracked || destinations_->set(domain, why)) {
      log_->error("{}: {}; recipients get 451 4.4.4 until the MX records or hostname/"
                  "local_names/local_addresses are fixed, or a primary is configured",
                  domain, why);
    }
    return;
  }
  if (!selection.targets.empty() && tracked && destinations_->set(domain, std::nullopt)) {
    log_->info("{}: a more-preferred MX host exists again; recipients are accepted", domain);
  }
}

asio::awaitable<Route> DnsRouter::route(const std::string& domain) {
  auto it = primaries_.find(domain);
  Route route;
  if (it != primaries_.end() && !it->second.empty()) {
    route = co_await route_static(it->second);
  } else {
    route = co_await route_mx(domain);
  }
  if (decoys_.count(domain) == 0 || route.hops.empty()) {
    co_return route;
  }
  std::erase_if(route.hops,
                [&](const Hop& hop) { return decoy(domain, hop.host, hop.endpoint.address()); });
  if (route.hops.empty()) {
    route.error = "every more-preferred MX host of " + domain + " is a decoy";
  }
  co_return route;
}

asio::awaitable<Route> DnsRouter::route_static(const std::vector<StaticHop>& hops) {
  Route route;
  std::string errors;
  for (const auto& hop : hops) {
    std::error_code ec;
    auto literal = asio::ip::make_address(hop.host, ec);
    std::vector<asio::ip::address> addresses{literal};
    if (ec) {
      auto answer = co_await resolver_.addresses(hop.host);
      if (answer.status != dns::Status::Found) {
        errors += (errors.empty() ? "" : "; ") + std::string("cannot resolve primary ") + hop.host;
        continue;
      }
      addresses = answer.addresses;
    }
    for (const auto& a : addresses) {
      const asio::ip::tcp::endpoint endpoint{a, hop.port};
      if (self_.is_listener(endpoint)) {
        log_->error("primary {} is this host's own listener {}: mail loop; fix the primary",
                    hop.host, endpoint.address().to_string());
        errors += (errors.empty() ? "" : "; ") + std::string("primary ") + hop.host +
                  " is this host: mail loop";
        continue;
      }
      route.hops.push_back({hop.host, endpoint});
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
  record(domain, selection);
  Route route;
  if (selection.targets.empty()) {
    route.error = selection.error;
    route.permanent = selection.permanent;
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
