// logging: the one logger backstop writes to. Lines look like Postfix's: time, level, the
// session id and the queue id first when there are some, then key=value fields
// (`format = "text"`), or the same as one JSON object per line with those ids and fields
// pulled out (`format = "json"`). Output goes to stderr (journald picks it up under
// systemd), to syslog (facility mail) or straight to the journal.
#pragma once

#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <string_view>

namespace backstop::app {

struct LogOptions {
  std::string level = "info";
  std::string format = "text";   // "text" | "json"
  std::string output = "stderr"; // "stderr" | "syslog" | "journald"
};

std::shared_ptr<spdlog::logger> make_logger(const LogOptions& options);
// Tools: stderr, text.
std::shared_ptr<spdlog::logger> make_logger(const std::string& level);

// One log message as JSON: {"time", "level", "session", "queue_id", "fields", "message"}.
// Pure, for the formatter and its tests.
std::string json_line(std::string_view time, std::string_view level, std::string_view message);

} // namespace backstop::app
