// serve: `backstop serve`: builds every part from the configuration, wires them, runs the
// event loops until SIGTERM/SIGINT, reloads on SIGHUP. The only place that knows concrete
// types of every module.
#pragma once

#include "app/config.hpp"

namespace backstop::app {

int serve(const Config& config);

} // namespace backstop::app
