// service_manager: what systemd (Type=notify) is told about the server: READY once every
// listener is bound, RELOADING while a SIGHUP is applied, STOPPING on SIGTERM, and a
// watchdog ping only while every event loop still runs what is posted to it, so a stuck
// loop gets the service restarted. Outside systemd (no NOTIFY_SOCKET) it does nothing.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::app {

class ServiceManager {
public:
  void ready(std::string_view status) const;
  void reloading() const;
  void stopping() const;
  // Pings at half the interval systemd asked for (WATCHDOG_USEC), on timer_loop, when every
  // loop of `watched` ran the no-op posted to it since the previous ping. No-op without it.
  void start_watchdog(asio::io_context& timer_loop, std::vector<asio::io_context*> watched);
  void stop_watchdog();
  std::chrono::microseconds watchdog_interval() const;

  struct Watchdog; // its state, shared with the pending timer

private:
  std::shared_ptr<Watchdog> watchdog_;
};

} // namespace backstop::app
