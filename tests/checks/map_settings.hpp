// map_settings: policy::Settings over a map of texts, for check unit tests (the TOML reader
// lives in app). Values are written as in the file: "true", "90s", "defer", "3".
#pragma once

#include "policy/check_settings.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace backstop::checks::test {

class CalloutMapSettings final : public policy::Settings {
public:
  std::map<std::string, std::string> values;
  std::vector<std::string> errors;

  CalloutMapSettings& set(const std::string& key, std::string value) {
    values[key] = std::move(value);
    return *this;
  }
  CalloutMapSettings& table(const std::string& key, const std::string& name) {
    auto& list = tables_[key];
    for (auto& [n, t] : list) {
      if (n == name) {
        return *t;
      }
    }
    list.emplace_back(name, std::make_unique<CalloutMapSettings>());
    return *list.back().second;
  }

  void string(const char* key, std::string& out) override {
    if (auto it = values.find(key); it != values.end()) {
      out = it->second;
    }
  }
  std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                     std::size_t current) override {
    auto it = values.find(key);
    if (it == values.end()) {
      return current;
    }
    std::size_t i = 0;
    for (auto a : allowed) {
      if (a == it->second) {
        return i;
      }
      ++i;
    }
    error(key, "not allowed: " + it->second);
    return current;
  }
  void boolean(const char* key, bool& out) override {
    if (auto it = values.find(key); it != values.end()) {
      out = it->second == "true";
    }
  }
  void integer(const char* key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) override {
    if (auto it = values.find(key); it != values.end()) {
      const auto v = std::stoull(it->second);
      if (v < min || v > max) {
        error(key, "out of range");
      } else {
        out = v;
      }
    }
  }
  void number(const char* key, double& out, double, double) override {
    if (auto it = values.find(key); it != values.end()) {
      out = std::stod(it->second);
    }
  }
  void duration(const char* key, std::chrono::seconds& out) override {
    auto it = values.find(key);
    if (it == values.end()) {
      return;
    }
    const std::string& t = it->second;
    const long n = std::stol(t);
    const char unit = t.back();
    const long factor = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 1;
    out = std::chrono::seconds(n * factor);
  }
  void millis(const char* key, std::chrono::milliseconds& out) override {
    if (auto it = values.find(key); it != values.end()) {
      out = std::chrono::milliseconds(std::stol(it->second));
    }
  }
  void strings(const char*, std::vector<std::string>&) override {}
  std::vector<std::pair<std::string, Settings*>> tables(const char* key) override {
    std::vector<std::pair<std::string, Settings*>> out;
    for (auto& [name, t] : tables_[key]) {
      out.emplace_back(name, t.get());
    }
    return out;
  }
  std::vector<Settings*> array_of_tables(const char*) override { return {}; }
  bool has(const char* key) const override {
    return values.count(key) != 0 || tables_.count(key) != 0;
  }
  void error(const char* key, const std::string& message) override {
    errors.push_back(std::string(key) + ": " + message);
  }
  std::string name(const char* key) const override { return key; }

private:
  std::map<std::string, std::vector<std::pair<std::string, std::unique_ptr<CalloutMapSettings>>>>
      tables_;
};

} // namespace backstop::checks::test
