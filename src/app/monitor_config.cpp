// monitor_config: [monitor] with its bounds.
#include "app/monitor_config.hpp"

namespace backstop::app {

void read_monitor(TomlReader& r, MonitorConfig& m) {
  r.duration("probe_interval", m.probe_interval); // 0: no probes
  r.duration("probe_timeout", m.probe_timeout);
  if (m.probe_timeout.count() < 1) {
    r.error("probe_timeout", "must be at least 1s");
  }
  r.integer("down_after", m.down_after, 1, 100);
  r.integer("up_after", m.up_after, 1, 100);
  r.duration("heartbeat_window", m.heartbeat_window);
  r.duration("history", m.history);
  r.finish();
}

monitor::MonitorOptions monitor_options(const Config& config) {
  const auto& m = config.monitor;
  monitor::MonitorOptions o;
  o.probe_interval = m.probe_interval;
  o.probe_timeout = m.probe_timeout;
  o.down_after = static_cast<std::uint32_t>(m.down_after);
  o.up_after = static_cast<std::uint32_t>(m.up_after);
  o.heartbeat_window = m.heartbeat_window;
  return o;
}

std::map<std::string, std::vector<std::string>> decoys(const Config& config) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& d : config.domains) {
    out[d.name] = d.decoy;
  }
  return out;
}

} // namespace backstop::app
