#include "admin/prometheus.hpp"

#include <fmt/format.h>
#include <sstream>

namespace backstop::admin {

namespace {

void family(std::ostringstream& out, std::string_view name, std::string_view help,
            std::string_view type) {
  out << "# HELP backstop_" << name << ' ' << help << "\n# TYPE backstop_" << name << ' ' << type
      << '\n';
}

// "RCPT reject relay_domains" as its three labels.
void refusal_line(std::ostringstream& out, const std::string& key, std::uint64_t value) {
  const auto first = key.find(' ');
  const auto second = key.find(' ', first == std::string::npos ? first : first + 1);
  if (first == std::string::npos || second == std::string::npos) {
    return;
  }
  out << "backstop_refusals_total{stage=\"" << label_value(key.substr(0, first)) << "\",decision=\""
      << label_value(key.substr(first + 1, second - first - 1)) << "\",check=\""
      << label_value(key.substr(second + 1)) << "\"} " << value << '\n';
}

void sessions(std::ostringstream& out, const metrics::Counters& counters) {
  family(out, "sessions_total",
         "SMTP sessions that ended, by outcome: mail, no_mail, timeout, refused, errors, dropped.",
         "counter");
  for (std::size_t i = 0; i < metrics::session_outcome_count; ++i) {
    const auto outcome = static_cast<metrics::SessionOutcome>(i);
    out << "backstop_sessions_total{outcome=\"" << metrics::to_string(outcome) << "\"} "
        << counters.sessions(outcome) << '\n';
  }
}

void listeners(std::ostringstream& out, const metrics::Counters& counters) {
  family(out, "listener_connections_total", "Connections accepted, by listener and kind.",
         "counter");
  for (const auto& l : counters.listeners()) {
    out << "backstop_listener_connections_total{listener=\"" << label_value(l.listener)
        << "\",kind=\"" << label_value(l.kind) << "\"} " << l.connections << '\n';
  }
}

void histogram(std::ostringstream& out, std::string_view name, std::string_view help,
               const metrics::Histogram& h) {
  family(out, name, help, "histogram");
  const auto snap = h.snapshot();
  for (std::size_t i = 0; i < snap.bounds.size(); ++i) {
    out << "backstop_" << name << "_bucket{le=\"" << fmt::format("{}", snap.bounds[i]) << "\"} "
        << snap.cumulative[i] << '\n';
  }
  out << "backstop_" << name << "_bucket{le=\"+Inf\"} " << snap.count << '\n';
  out << "backstop_" << name << "_sum " << fmt::format("{}", snap.sum) << '\n';
  out << "backstop_" << name << "_count " << snap.count << '\n';
}

void histograms(std::ostringstream& out, const metrics::Counters& counters) {
  histogram(out, "dns_query_seconds", "DNS queries sent to a server: time to the answer.",
            counters.dns_query_seconds);
  histogram(out, "fsync_seconds", "Group commits of the queue: time the fdatasync took.",
            counters.fsync_seconds);
  histogram(out, "fsync_batch_records",
            "Group commits of the queue: records (messages, state changes, removals) per sync.",
            counters.fsync_batch_records);
}

void primaries_up(std::ostringstream& out, const std::vector<PrimaryUp>& primaries) {
  family(out, "primary_up",
         "1 while the domain's primary answers (the monitor), 0 while it is down or not known yet.",
         "gauge");
  for (const auto& p : primaries) {
    out << "backstop_primary_up{domain=\"" << label_value(p.domain) << "\"} " << (p.up ? 1 : 0)
        << '\n';
  }
}

} // namespace

std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prometheus_text(const metrics::Counters& counters, const std::vector<Gauge>& gauges,
                            const std::vector<PrimaryUp>& primaries) {
  std::ostringstream out;
  for (const auto& sample : counters.samples()) {
    const std::string name = std::string(sample.name) + "_total";
    family(out, name, sample.help, "counter");
    out << "backstop_" << name << ' ' << sample.value << '\n';
  }
  family(out, "refusals_total",
         "Commands refused or deferred by a policy check, by stage, decision and check.",
         "counter");
  for (const auto& [key, value] : counters.refusals()) {
    refusal_line(out, key, value);
  }
  sessions(out, counters);
  listeners(out, counters);
  histograms(out, counters);
  primaries_up(out, primaries);
  for (const auto& gauge : gauges) {
    family(out, gauge.name, gauge.help, "gauge");
    out << "backstop_" << gauge.name << ' ' << fmt::format("{}", gauge.value) << '\n';
  }
  return out.str();
}

} // namespace backstop::admin
