// stats_command: `backstop stats`, the running server's counters since it started (connections,
// messages, refusals by check, verification answers, deliveries, bounces sent and
// suppressed), asked over the control socket.
#pragma once

#include "app/config.hpp"

namespace backstop::app {

int run_stats_command(const Config& config, bool json);

} // namespace backstop::app
