// fake_settings: the one policy::Settings that the checks' unit tests configure a check with
// (app reads TOML). Values are typed as TOML gives them: texts, booleans, integers, numbers,
// text lists, and durations as std::chrono seconds or milliseconds. Tables nest
// ([<section>.<key>."<name>"]) and array tables repeat ([[<section>.<key>]]); the errors of
// every table land in one list, each named like the TOML reader names it.
#pragma once

#include "policy/check_settings.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace backstop::test {

class FakeSettings final : public policy::Settings {
public:
  using Value = std::variant<std::string, bool, std::uint64_t, double, std::chrono::seconds,
                             std::chrono::milliseconds, std::vector<std::string>>;
  using Values = std::map<std::string, Value>;

  explicit FakeSettings(std::string section = "checks.test", Values values = {})
      : FakeSettings(std::move(section), std::move(values),
                     std::make_shared<std::vector<std::string>>()) {}

  FakeSettings& set(const std::string& key, Value value) {
    values_[key] = std::move(value);
    return *this;
  }
  // A string literal is a text (as a pointer it could pass for a boolean or a null integer).
  template <std::size_t N> FakeSettings& set(const std::string& key, const char (&text)[N]) {
    return set(key, std::string(text));
  }
  FakeSettings& erase(const std::string& key) {
    values_.erase(key);
    return *this;
  }
  // [<section>.<key>."<name>"]: the same table for the same name.
  FakeSettings& table(const std::string& key, const std::string& name) {
    auto& list = tables_[key];
    for (auto& [n, t] : list) {
      if (n == name) {
        return *t;
      }
    }
    list.emplace_back(name, child(section_ + "." + key + ".\"" + name + "\""));
    return *list.back().second;
  }
  // One more [[<section>.<key>]].
  FakeSettings& add_table(const std::string& key) {
    auto& list = arrays_[key];
    list.push_back(child(section_ + "." + key + "[" + std::to_string(list.size()) + "]"));
    return *list.back();
  }
  // Of this table and every table under it, in the order they were found.
  const std::vector<std::string>& errors() const { return *errors_; }

  void string(const char* key, std::string& out) override { read(key, out); }
  std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                     std::size_t current) override {
    std::string word;
    if (!read(key, word)) {
      return current;
    }
    std::size_t i = 0;
    for (const auto a : allowed) {
      if (a == word) {
        return i;
      }
      ++i;
    }
    error(key, "\"" + word + "\" is not allowed");
    return current;
  }
  void boolean(const char* key, bool& out) override { read(key, out); }
  void integer(const char* key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) override {
    std::uint64_t v = 0;
    if (read(key, v)) {
      in_range(key, v, min, max, out);
    }
  }
  void number(const char* key, double& out, double min, double max) override {
    double v = 0;
    if (const auto* i = find<std::uint64_t>(key)) {
      v = static_cast<double>(*i);
    } else if (!read(key, v)) {
      return;
    }
    in_range(key, v, min, max, out);
  }
  void duration(const char* key, std::chrono::seconds& out) override { read(key, out); }
  void millis(const char* key, std::chrono::milliseconds& out) override {
    if (const auto* s = find<std::chrono::seconds>(key)) {
      out = *s;
    } else {
      read(key, out);
    }
  }
  void strings(const char* key, std::vector<std::string>& out) override { read(key, out); }
  std::vector<std::pair<std::string, Settings*>> tables(const char* key) override {
    std::vector<std::pair<std::string, Settings*>> out;
    for (auto& [name, t] : tables_[key]) {
      out.emplace_back(name, t.get());
    }
    return out;
  }
  std::vector<Settings*> array_of_tables(const char* key) override {
    std::vector<Settings*> out;
    for (auto& t : arrays_[key]) {
      out.push_back(t.get());
    }
    return out;
  }
  bool has(const char* key) const override {
    return values_.count(key) != 0 || any(tables_, key) || any(arrays_, key);
  }
  void error(const char* key, const std::string& message) override {
    errors_->push_back(name(key) + ": " + message);
  }
  std::string name(const char* key) const override { return section_ + "." + key; }

private:
  FakeSettings(std::string section, Values values, std::shared_ptr<std::vector<std::string>> errors)
      : section_(std::move(section)), values_(std::move(values)), errors_(std::move(errors)) {}

  std::unique_ptr<FakeSettings> child(std::string section) {
    return std::unique_ptr<FakeSettings>(new FakeSettings(std::move(section), {}, errors_));
  }
  template <typename Map> static bool any(const Map& map, const char* key) {
    const auto it = map.find(key);
    return it != map.end() && !it->second.empty();
  }
  template <typename T> const T* find(const char* key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? nullptr : std::get_if<T>(&it->second);
  }
  template <typename T> bool read(const char* key, T& out) {
    if (values_.count(key) == 0) {
      return false;
    }
    if (const T* v = find<T>(key)) {
      out = *v;
      return true;
    }
    error(key, "wrong type");
    return false;
  }
  template <typename T> void in_range(const char* key, T value, T min, T max, T& out) {
    if (value < min || value > max) {
      error(key, "out of range");
    } else {
      out = value;
    }
  }

  std::string section_;
  Values values_;
  std::shared_ptr<std::vector<std::string>> errors_;
  std::map<std::string, std::vector<std::pair<std::string, std::unique_ptr<FakeSettings>>>> tables_;
  std::map<std::string, std::vector<std::unique_ptr<FakeSettings>>> arrays_;
};

} // namespace backstop::test
