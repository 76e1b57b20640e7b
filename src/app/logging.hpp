// logging: the one logger backstop writes to (stderr; journald picks it up under systemd).
// Lines look like Postfix's: time, level, then the queue id first when there is one.
#pragma once

#include <memory>
#include <spdlog/logger.h>
#include <string>

namespace backstop::app {

std::shared_ptr<spdlog::logger> make_logger(const std::string& level);

} // namespace backstop::app
