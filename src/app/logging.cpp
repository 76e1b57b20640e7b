// logging: stderr logger setup.
#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace backstop::app {

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("backstop", sink);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e backstop[%P]: %l: %v");
  log->set_level(spdlog::level::from_str(level));
  log->flush_on(spdlog::level::info);
  return log;
}

} // namespace backstop::app
