// prometheus: the server's numbers in the Prometheus text exposition format (version 0.0.4),
// for `GET /metrics`. Every counter of metrics::Counters becomes backstop_<name>_total; the
// refusals, sessions by outcome and connections by listener are labelled families; the
// histograms get _bucket{le=...}, _sum and _count; the gauges come from whoever owns them
// (the queue, the limiter) and the primary's state per domain from the monitor.
// docs/operations.md lists every metric.
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

// A backed-up domain's primary as the monitor sees it: backstop_primary_up{domain} 1 or 0.
struct PrimaryUp {
  std::string domain;
  bool up = false; // down, or not known yet
};

std::string prometheus_text(const metrics::Counters& counters, const std::vector<Gauge>& gauges,
                            const std::vector<PrimaryUp>& primaries = {});

// A label value as the format wants it: backslash, quote and newline escaped.
std::string label_value(std::string_view text);

} // namespace backstop::admin
