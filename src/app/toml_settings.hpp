// toml_settings: policy::Settings over one TOML table, so that a check reads its own
// [checks.<name>] section with the same error messages (key and line) and unknown-key
// reports as every other section.
#pragma once

#include "app/toml_reader.hpp"
#include "policy/check_settings.hpp"

#include <map>
#include <memory>

namespace backstop::app {

class TomlSettings final : public policy::Settings {
public:
  TomlSettings(const toml::table& table, std::string prefix, std::vector<std::string>& errors)
      : reader_(table, std::move(prefix), errors), errors_(errors) {}

  void string(const char* key, std::string& out) override { reader_.string(key, out); }
  std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                     std::size_t current) override {
    return reader_.choice(key, allowed, current);
  }
  void boolean(const char* key, bool& out) override { reader_.boolean(key, out); }
  void integer(const char* key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) override {
    reader_.integer(key, out, min, max);
  }
  void number(const char* key, double& out, double min, double max) override {
    reader_.number(key, out, min, max);
  }
  void duration(const char* key, std::chrono::seconds& out) override { reader_.duration(key, out); }
  void millis(const char* key, std::chrono::milliseconds& out) override {
    reader_.millis(key, out);
  }
  void strings(const char* key, std::vector<std::string>& out) override {
    reader_.strings(key, out);
  }
  std::vector<std::pair<std::string, policy::Settings*>> tables(const char* key) override;
  std::vector<policy::Settings*> array_of_tables(const char* key) override;
  bool has(const char* key) const override { return reader_.has(key); }
  void error(const char* key, const std::string& message) override { reader_.error(key, message); }
  std::string name(const char* key) const override { return reader_.name(key); }
  // Reports keys nobody read, here and in every table handed out.
  void finish();

private:
  TomlReader reader_;
  std::vector<std::string>& errors_;
  std::map<std::string, std::vector<std::pair<std::string, std::unique_ptr<TomlSettings>>>>
      children_;
};

} // namespace backstop::app
