// control_dispatch: every admin request, one implementation for both ways in: the control
// socket (the CLI) and the HTTP /api (api_request maps a path onto the same request), and the
// /metrics text. app hands in the services (ControlServices) and nothing else; this module
// knows neither the configuration nor the event loops. Requests run one at a time, on the
// caller's thread (the control-socket or HTTP thread, never an event loop: they may wait for
// a commit or the state store).
#pragma once

#include "admin/history.hpp"
#include "admin/prometheus.hpp"
#include "admin/queue_admin.hpp"
#include "mail/clock.hpp"
#include "metrics/counters.hpp"
#include "queue/spool.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace backstop::admin {

// A more-preferred host of a backed-up domain as the primary monitor sees it.
struct PrimaryHostView {
  std::string host;
  std::string state; // up, down, unknown
  std::uint32_t failures = 0;
  std::uint32_t successes = 0;
  std::int64_t since = 0;
  std::int64_t checked_at = 0;
  std::string reason;
};

struct PrimaryDomainView {
  std::string domain;
  std::string state; // up, down, unknown
  std::string reason;
  std::vector<PrimaryHostView> hosts;
};

struct ControlServices {
  queue::Spool* spool = nullptr;
  const metrics::Counters* counters = nullptr;
  const mail::Clock* clock = nullptr;
  std::int64_t started_unix = 0;
  state::Store* store = nullptr;    // null: no primary history, offenders or blacklist
  const History* history = nullptr; // the status page's samples; may be null
  QueueActions queue;               // flush, delete/hold/release through the scheduler
  std::function<nlohmann::json(const std::string& pattern)> flush_cache;
  std::function<std::vector<PrimaryDomainView>()> primaries; // the monitor, now
  std::function<nlohmann::json()> config_summary;            // without secrets
  std::function<std::vector<Gauge>()> gauges;                // app's own: loops, connections
};

class ControlDispatcher {
public:
  explicit ControlDispatcher(ControlServices services) : services_(std::move(services)) {}

  // request: {"command": "stats" | "status" | "primary" | "primary_history" | "offenders" |
  //   "blacklist" | "config" | "cache_flush" | a queue command (queue_admin.hpp), ...}
  // answer: {"ok": true, ...} or {"ok": false, "error": "..."}
  nlohmann::json handle(const nlohmann::json& request);
  // GET /metrics: the Prometheus text.
  std::string metrics() const;

private:
  nlohmann::json answer(const nlohmann::json& request);
  nlohmann::json stats() const;
  nlohmann::json status() const;
  nlohmann::json primary() const;
  nlohmann::json primary_history(const nlohmann::json& request) const;
  nlohmann::json offenders(const nlohmann::json& request) const;
  nlohmann::json blacklist() const;

  ControlServices services_;
  std::mutex mutex_; // one request at a time, from the socket or HTTP
};

} // namespace backstop::admin
