// fake_settings: a policy::Settings over a map, for checks' unit tests (app reads TOML).
// Values are strings, numbers, booleans or string lists; tables nest; errors are collected.
#pragma once

#include "policy/check_settings.hpp"

#include <map>
#include <memory>
#include <variant>

namespace backstop::test {

class FakeSettings final : public policy::Settings {
public:
  using Value = std::variant<std::string, double, bool, std::vector<std::string>>;

  FakeSettings& set(const std::string& key, Value value) {
    values_[key] = std::move(value);
    return *this;
  }
  FakeSettings& table(const std::string& key, const std::string& name) {
    auto& slot = tables_[key][name];
    if (!slot) {
      slot = std::make_unique<FakeSettings>();
    }
    return *slot;
  }
  const std::vector<std::string>& errors() const { return errors_; }

  void string(const char* key, std::string& out) override { read(key, out); }
  std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                     std::size_t current) override {
    std::string text;
    if (!read(key, text)) {
      return current;
    }
    std::size_t i = 0;
    for (const auto a : allowed) {
      if (a == text) {
        return i;
      }
      ++i;
    }
    error(key, "not allowed: " + text);
    return current;
  }
  void boolean(const char* key, bool& out) override { read(key, out); }
  void integer(const char* key, std::uint64_t& out, std::uint64_t, std::uint64_t) override {
    double d = static_cast<double>(out);
    if (read(key, d)) {
      out = static_cast<std::uint64_t>(d);
    }
  }
  void number(const char* key, double& out, double min, double max) override {
    double d = out;
    if (read(key, d)) {
      if (d < min || d > max) {
        error(key, "out of range");
      } else {
        out = d;
      }
    }
  }
  void duration(const char* key, std::chrono::seconds& out) override {
    double d = 0;
    if (read(key, d)) {
      out = std::chrono::seconds(static_cast<long>(d));
    }
  }
  void millis(const char* key, std::chrono::milliseconds& out) override {
    double d = 0;
    if (read(key, d)) {
      out = std::chrono::milliseconds(static_cast<long>(d));
    }
  }
  void strings(const char* key, std::vector<std::string>& out) override { read(key, out); }
  std::vector<std::pair<std::string, Settings*>> tables(const char* key) override {
    std::vector<std::pair<std::string, Settings*>> out;
    for (auto& [name, table] : tables_[key]) {
      out.emplace_back(name, table.get());
    }
    return out;
  }
  std::vector<Settings*> array_of_tables(const char*) override { return {}; }
  bool has(const char* key) const override { return values_.count(key) != 0; }
  void error(const char* key, const std::string& message) override {
    errors_.push_back(std::string(key) + ": " + message);
  }
  std::string name(const char* key) const override { return key; }

private:
  template <typename T> bool read(const char* key, T& out) {
    const auto it = values_.find(key);
    if (it == values_.end()) {
      return false;
    }
    if (const auto* v = std::get_if<T>(&it->second)) {
      out = *v;
      return true;
    }
    error(key, "wrong type");
    return false;
  }

  std::map<std::string, Value> values_;
  std::map<std::string, std::map<std::string, std::unique_ptr<FakeSettings>>> tables_;
  std::vector<std::string> errors_;
};

} // namespace backstop::test
