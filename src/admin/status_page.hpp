// status_page: the page at `/` for a person: queue depth over time, accepted against refused
// by reason, the primary's up/down timeline per domain and the top offenders, drawn by
// Chart.js from GET /api/status. Everything is served by backstop itself: the page and
// Chart.js (Debian's libjs-chart.js, embedded into the binary when it is built), so the page
// loads nothing from the network.
#pragma once
#include <string_view>

namespace backstop::admin {

std::string_view status_page_html();
std::string_view chart_js(); // empty when the build had no Chart.js

} // namespace backstop::admin
