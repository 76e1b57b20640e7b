// connection_rate: connections per minute from one client address and from one network
// (/24 for IPv4, /64 for IPv6, configurable), counted at connect by every event loop in one
// set of tables under a mutex. Over the limit: 421 4.7.0 and the connection closed (the
// client retries later, a bot moves on). A refused connection spends nothing.
// Concurrent sessions are limited where a session's end is seen: smtp/connection_limiter
// ([smtp] max_connections_per_ip, max_connections_per_network).
//
//   [checks.connection_rate]
//   address_per_minute = 30    # 0 = no limit (the default)
//   network_per_minute = 120   # 0 = no limit (the default)
//   ipv4_prefix = 24
//   ipv6_prefix = 64
//   max_tracked = 100000       # addresses (and networks) remembered; oldest forgotten first
#include "checks/connection_rate_table.hpp"
#include "checks/helo_name.hpp"
#include "mail/cidr.hpp"
#include "mail/ip_address.hpp"
#include "policy/check_registry.hpp"

#include <mutex>

namespace backstop::checks {

namespace {

using policy::Stage;

struct RateLimits {
  std::uint64_t address_per_minute = 0;
  std::uint64_t network_per_minute = 0;
  std::uint64_t ipv4_prefix = 24;
  std::uint64_t ipv6_prefix = 64;
  std::uint64_t max_tracked = 100000;
};

mail::Verdict too_many(const std::string& who, std::uint64_t per_minute) {
  auto v = mail::Verdict::decide(
      mail::Decision::Defer, {421, "4.7.0", "Too many connections, slow down and try again later"},
      "connection_rate",
      who + ": more than " + std::to_string(per_minute) + " connections a minute");
  v.disconnect = true;
  return v;
}

class ConnectionRate final : public policy::Check {
public:
  ConnectionRate(RateLimits limits, const mail::Clock& clock)
      : limits_(limits), clock_(clock),
        addresses_(static_cast<double>(limits.address_per_minute), limits.max_tracked),
        networks_(static_cast<double>(limits.network_per_minute), limits.max_tracked) {}

  std::string_view name() const override { return "connection_rate"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Connect; }
  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    co_return admit(unmapped(context.client.address));
  }

private:
  mail::Verdict admit(const asio::ip::address& client) const {
    const std::string address = mail::address_text(client);
    const std::string network = mail::network_of(address, static_cast<int>(limits_.ipv4_prefix),
                                                 static_cast<int>(limits_.ipv6_prefix));
    const auto now = clock_.now();
    std::lock_guard lock(mutex_);
    const bool by_address = limits_.address_per_minute > 0;
    const bool by_network = limits_.network_per_minute > 0;
    if (by_address && !addresses_.available(address, now)) {
      return too_many("address " + address, limits_.address_per_minute);
    }
    if (by_network && !networks_.available(network, now)) {
      return too_many("network " + network, limits_.network_per_minute);
    }
    if (by_address) {
      addresses_.take(address);
    }
    if (by_network) {
      networks_.take(network);
    }
    return mail::Verdict::accept("connection_rate");
  }

  RateLimits limits_;
  const mail::Clock& clock_;
  mutable std::mutex mutex_; // sessions of every event loop share the tables
  mutable RateTable addresses_;
  mutable RateTable networks_;
};

std::unique_ptr<policy::Check> make_connection_rate(policy::Settings& settings,
                                                    const policy::CheckServices* services) {
  RateLimits limits;
  settings.integer("address_per_minute", limits.address_per_minute, 0, 1000000);
  settings.integer("network_per_minute", limits.network_per_minute, 0, 1000000);
  settings.integer("ipv4_prefix", limits.ipv4_prefix, 8, 32);
  settings.integer("ipv6_prefix", limits.ipv6_prefix, 16, 128);
  settings.integer("max_tracked", limits.max_tracked, 1, 10000000);
  if (services == nullptr || services->clock == nullptr ||
      (limits.address_per_minute == 0 && limits.network_per_minute == 0)) {
    return nullptr;
  }
  return std::make_unique<ConnectionRate>(limits, *services->clock);
}

const policy::RegisterCheck registration{{"connection_rate", 20, &make_connection_rate}};

} // namespace

} // namespace backstop::checks
