// monitor_config: reads [monitor] (docs/configuration.md) and turns it into the monitor's
// options.
#pragma once

#include "app/config.hpp"
#include "app/toml_reader.hpp"
#include "monitor/primary_monitor.hpp"

#include <map>
#include <string>
#include <vector>

namespace backstop::app {

void read_monitor(TomlReader& r, MonitorConfig& monitor);
monitor::MonitorOptions monitor_options(const Config& config);
// Every backed-up domain with its decoys (possibly none).
std::map<std::string, std::vector<std::string>> decoys(const Config& config);

} // namespace backstop::app
