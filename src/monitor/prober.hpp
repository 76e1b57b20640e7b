// prober: asks each backed-up domain's more-preferred hosts, from the delivery loop, whether
// they are alive: connect, banner, EHLO, QUIT, every step under one deadline (probe_timeout).
// The hosts are what routing finds (the configured primary list, else the MX hosts more
// preferred than this host, decoys left out by the router), so a probe asks exactly what a
// delivery would try. A host shared by several domains is asked once per pass. Results go
// to the PrimaryMonitor, which decides with its hysteresis.
#pragma once

#include "delivery/router.hpp"
#include "monitor/primary_monitor.hpp"

#include <asio.hpp>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::monitor {

class Prober {
public:
  Prober(asio::io_context& loop, delivery::Router& router, PrimaryMonitor& monitor,
         std::string helo_name, std::shared_ptr<spdlog::logger> log);
  // From any thread: the domains to probe; a pass starts at once.
  void set_domains(std::vector<std::string> domains);
  void start();
  void stop();

private:
  struct Answer {
    bool alive = false;
    std::string why;
  };
  asio::awaitable<void> run();
  asio::awaitable<void> pass();
  asio::awaitable<Answer> probe_host(std::vector<delivery::Hop> hops);

  asio::io_context& loop_;
  delivery::Router& router_;
  PrimaryMonitor& monitor_;
  std::string helo_name_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::string> domains_; // on the delivery loop only
  asio::steady_timer timer_;
  bool stopped_ = false;
  bool rerun_ = false;
};

} // namespace backstop::monitor
