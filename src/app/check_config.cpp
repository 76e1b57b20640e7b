// check_config: lists, and one routing pass over the MX-routed domains.
#include "app/check_config.hpp"

#include "app/logging.hpp"
#include "app/verification.hpp"
#include "dns/resolver.hpp"

#include <iostream>

namespace backstop::app {

namespace {

asio::awaitable<void> route_all(delivery::DnsRouter& router, std::vector<std::string> domains) {
  for (const auto& domain : domains) {
    co_await router.route(domain);
  }
}

// Routes each MX-routed domain once, as the server would at start; says which have nowhere
// to deliver. Bounded by the resolver's own timeouts.
std::vector<std::string> routing_warnings(const Config& config) {
  const auto domains = routed_by_mx(config);
  if (domains.empty()) {
    return {};
  }
  asio::io_context loop;
  mail::SystemClock clock;
  auto resolver = dns::Resolver::create(loop.get_executor(), resolver_options(config), clock);
  if (!resolver) {
    return {"cannot check MX records: " + resolver.error().message};
  }
  policy::Destinations destinations;
  destinations.track({domains.begin(), domains.end()});
  auto router = make_router(config, *resolver.value(), make_logger("off"), &destinations);
  asio::co_spawn(loop, route_all(*router, domains), [&](std::exception_ptr) { loop.stop(); });
  loop.run();
  std::vector<std::string> out;
  for (const auto& domain : domains) {
    if (auto why = destinations.nowhere(domain)) {
      out.push_back("domain " + domain + ": " + *why +
                    "; its mail could never be delivered, so its recipients get 451 4.4.4 "
                    "(set primary, or fix the MX records or hostname/local_names)");
    }
  }
  return out;
}

} // namespace

int run_check_config(const Config& config, const std::string& path) {
  if (auto lists = load_recipient_lists(config); !lists) {
    std::cerr << path << ": " << lists.error().message << "\n";
    return 1;
  }
  const auto warnings = routing_warnings(config);
  for (const auto& w : warnings) {
    std::cerr << path << ": warning: " << w << "\n";
  }
  std::cout << path << ": ok (" << config.domains.size() << " domains"
            << (warnings.empty() ? "" : ", " + std::to_string(warnings.size()) + " warnings")
            << ")\n";
  return 0;
}

} // namespace backstop::app
