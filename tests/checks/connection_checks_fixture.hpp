// connection_checks_fixture: what the unit tests of the connection-level and HELO checks
// share: settings from a map (the TOML reader is app's), a resolver that answers from
// tables (and counts what it was asked), a context builder and a loop to run check() on.
#pragma once

#include "mail/clock.hpp"
#include "policy/check_registry.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace backstop::checks::test {

using Value = std::variant<bool, std::uint64_t, double, std::string, std::vector<std::string>,
                           std::chrono::seconds>;

// Settings over a map; errors are collected for the test to inspect.
class MapSettings final : public policy::Settings {
public:
  MapSettings(std::string section, std::map<std::string, Value> values)
      : section_(std::move(section)), values_(std::move(values)) {}

  std::vector<std::string> errors;

  void string(const char* key, std::string& out) override { read(key, out); }
  std::size_t choice(const char* key, std::initializer_list<std::string_view> allowed,
                     std::size_t current) override {
    std::string word;
    if (!read(key, word)) {
      return current;
    }
    std::size_t i = 0;
    for (auto a : allowed) {
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
    std::uint64_t v = out;
    if (read(key, v)) {
      if (v < min || v > max) {
        error(key, "out of range");
      } else {
        out = v;
      }
    }
  }
  void number(const char* key, double& out, double min, double max) override { read(key, out); }
  void duration(const char* key, std::chrono::seconds& out) override { read(key, out); }
  void millis(const char* key, std::chrono::milliseconds& out) override {
    std::chrono::seconds s;
    if (read(key, s)) {
      out = s;
    }
  }
  void strings(const char* key, std::vector<std::string>& out) override { read(key, out); }
  std::vector<std::pair<std::string, Settings*>> tables(const char*) override { return {}; }
  std::vector<Settings*> array_of_tables(const char*) override { return {}; }
  bool has(const char* key) const override { return values_.count(key) != 0; }
  void error(const char* key, const std::string& message) override {
    errors.push_back(name(key) + ": " + message);
  }
  std::string name(const char* key) const override { return section_ + "." + key; }

private:
  template <typename T> bool read(const char* key, T& out) {
    auto it = values_.find(key);
    if (it == values_.end()) {
      return false;
    }
    if (const T* v = std::get_if<T>(&it->second)) {
      out = *v;
      return true;
    }
    error(key, "wrong type");
    return false;
  }

  std::string section_;
  std::map<std::string, Value> values_;
};

// Answers from tables; a name or address not in them does not exist. temp_fail makes every
// question a temporary failure (the DNS server is down).
class TableResolver final : public dns::Resolver {
public:
  std::map<std::string, std::vector<std::string>> ptr_names; // address text -> names
  std::map<std::string, std::vector<std::string>> hosts;     // name -> addresses
  std::set<std::string> failing;                             // names/addresses: TempFail
  bool temp_fail = false;
  mutable std::vector<std::string> asked;

  asio::awaitable<dns::MxAnswer> mx(std::string) override { co_return dns::MxAnswer{}; }
  asio::awaitable<dns::AddressAnswer> addresses(std::string host) override {
    asked.push_back("addresses " + host);
    dns::AddressAnswer answer;
    if (temp_fail || failing.count(host) != 0) {
      answer.status = dns::Status::TempFail;
      answer.error = "scripted failure";
      co_return answer;
    }
    auto it = hosts.find(host);
    answer.status = it == hosts.end() ? dns::Status::NxDomain : dns::Status::Found;
    if (it != hosts.end()) {
      for (const auto& text : it->second) {
        answer.addresses.push_back(asio::ip::make_address(text));
      }
    }
    co_return answer;
  }
  asio::awaitable<dns::NameAnswer> ptr(asio::ip::address address) override {
    const std::string text = address.to_string();
    asked.push_back("ptr " + text);
    dns::NameAnswer answer;
    if (temp_fail || failing.count(text) != 0) {
      answer.status = dns::Status::TempFail;
      answer.error = "scripted failure";
      co_return answer;
    }
    auto it = ptr_names.find(text);
    answer.status = it == ptr_names.end() ? dns::Status::NxDomain : dns::Status::Found;
    if (it != ptr_names.end()) {
      answer.names = it->second;
    }
    co_return answer;
  }
};

class CheckTest : public ::testing::Test {
protected:
  CheckTest() {
    services_.resolver = &resolver_;
    services_.clock = &clock_;
    services_.hostname = "mx2.example.net";
    services_.is_local_name = [](std::string_view n) {
      return n == "mx2.example.net" || n == "backup.example.net";
    };
    services_.is_local_address = [](std::string_view a) {
      return a == "192.0.2.25" || a == "2001:db8::25";
    };
  }

  std::unique_ptr<policy::Check> make(std::string_view name, std::map<std::string, Value> values) {
    const auto* type = policy::find_check_type(name);
    EXPECT_NE(type, nullptr) << name << " is not registered";
    if (type == nullptr) {
      return nullptr;
    }
    MapSettings settings("checks." + std::string(name), std::move(values));
    auto check = type->make(settings, &services_);
    EXPECT_TRUE(settings.errors.empty()) << settings.errors.front();
    return check;
  }

  std::vector<std::string> errors_of(std::string_view name, std::map<std::string, Value> values) {
    MapSettings settings("checks." + std::string(name), std::move(values));
    policy::find_check_type(name)->make(settings, &services_);
    return settings.errors;
  }

  policy::SessionContext context(std::string ip, std::string helo = {}) {
    policy::SessionContext c;
    c.session_id = "test";
    c.executor = io_.get_executor();
    c.client.ip = ip;
    c.client.address = asio::ip::make_address(ip);
    c.client.listener = "192.0.2.25:25";
    c.helo = std::move(helo);
    return c;
  }

  mail::Verdict run(const policy::Check& check, policy::Stage stage,
                    const policy::SessionContext& c) {
    std::optional<mail::Verdict> out;
    check.prefetch(stage, c);
    asio::co_spawn(io_, check.check(stage, c), [&out](std::exception_ptr e, mail::Verdict v) {
      if (e) {
        std::rethrow_exception(e);
      }
      out = std::move(v);
    });
    io_.restart();
    io_.run();
    EXPECT_TRUE(out.has_value()) << "check() did not finish";
    return out ? *out : mail::Verdict{};
  }

  static std::string fact(const mail::Verdict& v, std::string_view key) {
    for (const auto& f : v.facts) {
      if (f.key == key) {
        return f.value;
      }
    }
    return "(unset)";
  }

  asio::io_context io_;
  mail::ManualClock clock_{std::chrono::system_clock::time_point{} + std::chrono::hours(480000)};
  TableResolver resolver_;
  policy::CheckServices services_;
};

} // namespace backstop::checks::test
