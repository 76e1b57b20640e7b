// prometheus: the server's numbers in the Prometheus text exposition format (version 0.0.4),
// for `GET /metrics`. Every counter of metrics::Counters becomes backstop_<name>_total, the
// refusals one labelled family, and the gauges come from whoever owns them (the queue).
#pragma once
#include "metrics/counters.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::admin {

struct Gauge {
  std::string name; // without the backstop_ prefix: "queue_messages"
  std::string help;
  double value = 0;
};

std::string prometheus_text(const metrics::Counters& counters, const std::vector<Gauge>& gauges);

// A label value as the format wants it: backslash, quote and newline escaped.
std::string label_value(std::string_view text);

} // namespace backstop::admin
