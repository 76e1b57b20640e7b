// toml_reader: typed reads of one TOML table that record every error with its key and line
// and, at finish(), every key nobody asked for. Keeps config_loader free of toml++ details.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace backstop::app {

class TomlReader {
public:
  TomlReader(const toml::table& table, std::string prefix, std::vector<std::string>& errors)
      : table_(table), prefix_(std::move(prefix)), errors_(errors) {}

  void string(const char* key, std::string& out);
  // One of a few words: the index of the value in allowed, or current when the key is
  // absent or its value is not allowed (an error then names the allowed words).
  std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                     std::size_t current);
  void boolean(const char* key, bool& out);
  void integer(const char* key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
  void number(const char* key, double& out, double min, double max); // integer or float
  // Accepts seconds as an integer or a string with unit: "90s", "5m", "4h", "5d".
  void duration(const char* key, std::chrono::seconds& out);
  void millis(const char* key, std::chrono::milliseconds& out);
  void strings(const char* key, std::vector<std::string>& out);
  const toml::table* table(const char* key);
  const toml::array* array(const char* key);
  bool has(const char* key) const { return table_.contains(key); }
  // Reports keys present in the table that no call above asked for.
  void finish();

  // "smtp.listen" style name for messages about key.
  std::string name(const char* key) const;
  void error(const char* key, const std::string& message);
  void error_at(const toml::node& node, const std::string& what, const std::string& message);

private:
  const toml::node* lookup(const char* key);

  const toml::table& table_;
  std::string prefix_;
  std::vector<std::string>& errors_;
  std::set<std::string> known_;
};

std::size_t line_of(const toml::node& node);

} // namespace backstop::app
