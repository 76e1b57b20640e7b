// route_watch: routes every backed-up domain that has no configured primary, at start, after
// a reload and then every interval, so that policy::Destinations knows before the first RCPT
// whether this host is a domain's best MX (nowhere to deliver) and learns when that changes.
// Runs on the delivery loop; the router records what it finds and logs each change, and
// every pass repeats the error for a domain that still has nowhere to go.
#pragma once

#include "delivery/router.hpp"
#include "policy/destinations.hpp"

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::delivery {

class RouteWatch {
public:
  RouteWatch(asio::io_context& loop, Router& router, const policy::Destinations& destinations,
             std::chrono::seconds interval, std::shared_ptr<spdlog::logger> log);
  void start();
  // From any thread: the domains to route from now on; a pass starts at once.
  void set_domains(std::vector<std::string> domains);
  void stop();

private:
  asio::awaitable<void> run();

  asio::io_context& loop_;
  Router& router_;
  const policy::Destinations& destinations_;
  std::chrono::seconds interval_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::string> domains_; // touched on the delivery loop only
  asio::steady_timer timer_;
  bool stopped_ = false;
  bool rerun_ = false; // the domain list changed during a pass
};

} // namespace backstop::delivery
