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

std::string prometheus_text(const metrics::Counters& counters, const std::vector<Gauge>& gauges) {
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
  for (const auto& gauge : gauges) {
    family(out, gauge.name, gauge.help, "gauge");
    out << "backstop_" << gauge.name << ' ' << fmt::format("{}", gauge.value) << '\n';
  }
  return out.str();
}

} // namespace backstop::admin
