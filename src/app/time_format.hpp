// time_format: unix seconds as local time for the CLI's text output.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace backstop::app {

inline std::string local_time(std::int64_t unix_time) {
  if (unix_time == 0) {
    return "now";
  }
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

} // namespace backstop::app
