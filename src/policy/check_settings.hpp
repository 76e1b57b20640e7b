// check_settings: how a check reads its own config section ([checks.<name>]) without
// knowing the file format. app implements it over TOML; every read records its errors with
// the key and line, and keys nobody read are reported as unknown. The pipeline reads the
// keys every check has (mode, order, domain.<d>.mode) before the check reads the rest.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backstop::policy {

class Settings {
public:
  virtual ~Settings() = default;

  virtual void string(const char* key, std::string& out) = 0;
  // The index of the value in allowed; current when absent or not allowed (an error then).
  virtual std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                             std::size_t current) = 0;
  virtual void boolean(const char* key, bool& out) = 0;
  virtual void integer(const char* key, std::uint64_t& out, std::uint64_t min,
                       std::uint64_t max) = 0;
  virtual void number(const char* key, double& out, double min, double max) = 0;
  // Seconds as an integer, or "90s", "5m", "4h", "5d".
  virtual void duration(const char* key, std::chrono::seconds& out) = 0;
  virtual void millis(const char* key, std::chrono::milliseconds& out) = 0;
  virtual void strings(const char* key, std::vector<std::string>& out) = 0;
  // The tables under key by their names: [checks.spf.domain."example.org"] for key "domain".
  // Asking twice for the same key gives the same readers.
  virtual std::vector<std::pair<std::string, Settings*>> tables(const char* key) = 0;
  // An array of tables: [[checks.dnsbl.zone]] for key "zone".
  virtual std::vector<Settings*> array_of_tables(const char* key) = 0;
  virtual bool has(const char* key) const = 0;
  virtual void error(const char* key, const std::string& message) = 0;
  // "checks.dnsbl.zone" style name for messages about key.
  virtual std::string name(const char* key) const = 0;
};

} // namespace backstop::policy
