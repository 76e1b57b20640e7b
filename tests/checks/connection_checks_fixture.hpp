// connection_checks_fixture: what the unit tests of the connection-level and HELO checks
// share: their settings (FakeSettings; the TOML reader is app's), a resolver that answers
// from tables (and counts what it was asked), a context builder and a loop to run check() on.
#pragma once

#include "checks/fake_settings.hpp"
#include "mail/clock.hpp"
#include "policy/check_registry.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace backstop::checks::test {

using Values = backstop::test::FakeSettings::Values;

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

  std::unique_ptr<policy::Check> make(std::string_view name, Values values) {
    const auto* type = policy::find_check_type(name);
    EXPECT_NE(type, nullptr) << name << " is not registered";
    if (type == nullptr) {
      return nullptr;
    }
    backstop::test::FakeSettings settings("checks." + std::string(name), std::move(values));
    auto check = type->make(settings, &services_);
    EXPECT_TRUE(settings.errors().empty()) << settings.errors().front();
    return check;
  }

  std::vector<std::string> errors_of(std::string_view name, Values values) {
    backstop::test::FakeSettings settings("checks." + std::string(name), std::move(values));
    policy::find_check_type(name)->make(settings, &services_);
    return settings.errors();
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
