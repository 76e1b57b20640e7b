// config_summary: the fields shown, section by section.
#include "app/config_summary.hpp"

namespace backstop::app {

using nlohmann::json;

namespace {

json endpoints(const std::vector<Endpoint>& list) {
  json out = json::array();
  for (const auto& e : list) {
    out.push_back(e.to_string());
  }
  return out;
}

json domains(const Config& config) {
  json out = json::array();
  for (const auto& d : config.domains) {
    out.push_back({{"name", d.name},
                   {"primary", endpoints(d.primary)},
                   {"tls_required", d.tls_required},
                   {"verify", d.verify.value_or(config.verify.callout)},
                   {"recipients", d.recipients.string()},
                   {"decoy", d.decoy}});
  }
  return out;
}

json listeners(const Config& config) {
  json out = json::array();
  for (const auto& l : config.listeners) {
    out.push_back({{"address", l.address.to_string()},
                   {"kind", l.kind},
                   {"name", l.name},
                   {"stale_since", l.stale_since}});
  }
  return out;
}

json checks(const Config& config) {
  json out = json::array();
  for (const auto& [name, section] : config.checks.sections) {
    out.push_back(std::string(name.str()));
  }
  return out;
}

} // namespace

json config_summary(const Config& config) {
  const auto& s = config.smtp;
  return {
      {"source", config.source.string()},
      {"hostname", config.hostname},
      {"user", config.user},
      {"scheduling", config.scheduling == CpuScheduling::Batch ? "batch" : "normal"},
      {"smtp",
       {{"listen", endpoints(s.listen)},
        {"max_message_size", s.max_message_size},
        {"max_connections", s.max_connections},
        {"max_connections_per_ip", s.max_connections_per_ip},
        {"max_recipients", s.max_recipients},
        {"workers", s.workers},
        {"tls", !s.tls_certificate.empty()}}},
      {"listeners", listeners(config)},
      {"domains", domains(config)},
      {"queue", {{"dir", config.queue.dir.string()}}},
      {"state", {{"backend", config.state.backend}}},
      {"dns", {{"servers", config.dns.servers}}},
      {"delivery",
       {{"retry_initial", config.delivery.retry_initial.count()},
        {"retry_max", config.delivery.retry_max.count()},
        {"max_queue_lifetime", config.delivery.max_queue_lifetime.count()},
        {"source_address", config.delivery.source_address}}},
      {"monitor", {{"probe_interval", config.monitor.probe_interval.count()}}},
      {"admin",
       {{"listen", config.admin.listen ? config.admin.listen->to_string() : ""},
        {"token_set", !config.admin.token.empty()}}},
      {"log",
       {{"level", config.log.level}, {"format", config.log.format}, {"output", config.log.output}}},
      {"checks", checks(config)},
  };
}

} // namespace backstop::app
