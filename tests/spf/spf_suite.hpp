// spf_suite: reads the openspf YAML test suite (tests/data/spf/README.md "Format") into
// scenarios: zone data for a ZoneResolver and the tests with their acceptable results.
#pragma once

#include "spf/evaluator.hpp"
#include "spf/identity.hpp"
#include "zone_resolver.hpp"

#include <asio.hpp>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace backstop::spf::test {

struct SuiteTest {
  std::string name;
  std::string spec;
  std::string helo;
  std::string host;
  std::string mailfrom;
  std::vector<std::string> results; // any of these passes; the first is preferred
  std::optional<std::string> explanation;
};

struct Scenario {
  std::string description;
  ZoneResolver::Zone zone;
  std::vector<SuiteTest> tests;
};

inline std::string joined_strings(const YAML::Node& value) {
  if (!value.IsSequence()) {
    return value.as<std::string>();
  }
  std::string out;
  for (const auto& piece : value) {
    out += piece.as<std::string>();
  }
  return out;
}

inline ZoneEntry zone_entry(const YAML::Node& item) {
  if (item.IsScalar()) {
    return {ZoneEntry::Timeout, {}, 0}; // the bare TIMEOUT item
  }
  const auto pair = *item.begin();
  const auto type = pair.first.as<std::string>();
  const auto& value = pair.second;
  if (type == "TXT" || type == "SPF") {
    if (type == "TXT" && value.IsScalar() && value.as<std::string>() == "NONE") {
      return {ZoneEntry::TxtNone, {}, 0};
    }
    return {type == "TXT" ? ZoneEntry::Txt : ZoneEntry::Spf, joined_strings(value), 0};
  }
  if (type == "MX") {
    return {ZoneEntry::Mx, value[1].as<std::string>(), value[0].as<unsigned>()};
  }
  const ZoneEntry::Type t = type == "A"      ? ZoneEntry::A
                            : type == "AAAA" ? ZoneEntry::Aaaa
                            : type == "PTR"  ? ZoneEntry::Ptr
                                             : ZoneEntry::Cname;
  return {t, value.as<std::string>(), 0};
}

inline SuiteTest suite_test(const std::string& name, const YAML::Node& node) {
  SuiteTest t;
  t.name = name;
  if (node["spec"]) {
    t.spec =
        node["spec"].IsSequence() ? joined_strings(node["spec"]) : node["spec"].as<std::string>();
  }
  t.helo = node["helo"].as<std::string>();
  t.host = node["host"].as<std::string>();
  t.mailfrom = node["mailfrom"].as<std::string>();
  if (node["result"].IsSequence()) {
    for (const auto& r : node["result"]) {
      t.results.push_back(r.as<std::string>());
    }
  } else {
    t.results.push_back(node["result"].as<std::string>());
  }
  if (node["explanation"]) {
    t.explanation = node["explanation"].as<std::string>();
  }
  return t;
}

inline std::vector<Scenario> load_suite(const std::string& path) {
  std::vector<Scenario> scenarios;
  for (const auto& document : YAML::LoadAllFromFile(path)) {
    Scenario s;
    s.description = document["description"].as<std::string>();
    for (const auto& entry : document["tests"]) {
      s.tests.push_back(suite_test(entry.first.as<std::string>(), entry.second));
    }
    if (document["zonedata"]) {
      for (const auto& name : document["zonedata"]) {
        auto& entries = s.zone[name.first.as<std::string>()];
        for (const auto& item : name.second) {
          entries.push_back(zone_entry(item));
        }
      }
    }
    scenarios.push_back(std::move(s));
  }
  return scenarios;
}

// Runs one test the way the suite states it: check_host(ip, domain of mailfrom or helo,
// mailfrom or postmaster@helo, helo), the identity rules being production's own.
inline Outcome run_suite_test(const Evaluator& evaluator, const SuiteTest& t) {
  const auto identity = mail_from_identity(t.mailfrom, t.helo);
  asio::io_context io;
  std::optional<Outcome> out;
  asio::co_spawn(io,
                 evaluator.check_host(asio::ip::make_address(t.host), identity.domain,
                                      identity.sender, t.helo),
                 [&](std::exception_ptr e, Outcome o) {
                   if (!e) {
                     out = std::move(o);
                   }
                 });
  io.run();
  return out.value_or(Outcome{Result::None, {}, "the evaluation threw", {}});
}

inline bool suite_passes(const SuiteTest& t, const Outcome& o) {
  const auto name = std::string(result_name(o.result));
  bool ok = false;
  for (const auto& r : t.results) {
    ok = ok || r == name;
  }
  return ok && (!t.explanation || *t.explanation == o.explanation);
}

} // namespace backstop::spf::test
