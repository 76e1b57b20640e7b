// reload_command: `backstop reload`: asks the running server to re-read its configuration
// (what SIGHUP does) and reports whether the new file was taken.
#pragma once

#include "app/config.hpp"

namespace backstop::app {

// 0: reloaded; 1: no server answers, or the file has errors (the running one stays).
int run_reload_command(const Config& config);

} // namespace backstop::app
