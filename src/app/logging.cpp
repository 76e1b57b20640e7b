#include "app/logging.hpp"

#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

namespace backstop::app {

namespace {

constexpr std::string_view text_pattern = "%Y-%m-%dT%H:%M:%S.%e backstop[%P]: %l: %v";

bool is_queue_id(std::string_view word) {
  if (word.size() != 17 || word.back() != ':') {
    return false;
  }
  for (char c : word.substr(0, 16)) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

// A word "key=value" with a lower-case key: a field of the line.
bool split_field(std::string_view word, std::string_view& key, std::string_view& value) {
  const auto eq = word.find('=');
  if (eq == 0 || eq == std::string_view::npos) {
    return false;
  }
  key = word.substr(0, eq);
  for (char c : key) {
    if (!(std::islower(static_cast<unsigned char>(c)) != 0 || c == '_')) {
      return false;
    }
  }
  value = word.substr(eq + 1);
  return true;
}

std::string_view next_word(std::string_view text, std::size_t& at) {
  const auto end = text.find(' ', at);
  auto word = text.substr(at, end == std::string_view::npos ? text.npos : end - at);
  at = end == std::string_view::npos ? text.size() : end + 1;
  return word;
}

class JsonFormatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto seconds = std::chrono::system_clock::to_time_t(msg.time);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()) % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char time[40];
    const auto n = std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(time + n, sizeof time - n, ".%03dZ", static_cast<int>(millis.count()));
    const auto level = spdlog::level::to_string_view(msg.level);
    const auto line =
        json_line(time, {level.data(), level.size()}, {msg.payload.data(), msg.payload.size()});
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

spdlog::sink_ptr make_sink(const std::string& output) {
  if (output == "syslog") {
    // The sink formats nothing itself: syslog adds its own time and the pid.
    return std::make_shared<spdlog::sinks::syslog_sink_mt>("backstop", LOG_PID, LOG_MAIL, true);
  }
  if (output == "journald") {
    return std::make_shared<spdlog::sinks::systemd_sink_mt>("backstop", true);
  }
  return std::make_shared<spdlog::sinks::stderr_sink_mt>();
}

} // namespace

std::string json_line(std::string_view time, std::string_view level, std::string_view message) {
  nlohmann::json line{{"time", time}, {"level", level}};
  std::size_t at = 0;
  std::size_t rest = 0;
  auto word = next_word(message, at);
  if (word.rfind("session=", 0) == 0) {
    line["session"] = word.substr(8);
    rest = at;
    word = next_word(message, at);
  }
  if (is_queue_id(word)) {
    line["queue_id"] = word.substr(0, 16);
    rest = at;
  }
  nlohmann::json fields = nlohmann::json::object();
  for (std::size_t i = rest; i < message.size();) {
    std::string_view key;
    std::string_view value;
    if (split_field(next_word(message, i), key, value)) {
      fields[std::string(key)] = value;
    }
  }
  if (!fields.empty()) {
    line["fields"] = std::move(fields);
  }
  line["message"] = message.substr(rest);
  // A client's bytes may be in the message: never let bad UTF-8 lose the line.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<spdlog::logger> make_logger(const LogOptions& options) {
  auto log = std::make_shared<spdlog::logger>("backstop", make_sink(options.output));
  if (options.format == "json") {
    log->set_formatter(std::make_unique<JsonFormatter>());
  } else if (options.output == "stderr") {
    log->set_pattern(std::string(text_pattern));
  } else {
    log->set_pattern("%l: %v"); // syslog and the journal keep their own time and pid
  }
  log->set_level(spdlog::level::from_str(options.level));
  log->flush_on(spdlog::level::info);
  return log;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  return make_logger(LogOptions{level});
}

} // namespace backstop::app
