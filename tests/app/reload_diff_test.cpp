// reload_diff_test: no option is silently ignored by a reload. Every key that
// docs/configuration.md documents (the loader's options) has a variant here; two configs that
// differ only in it must make take_live_options() name exactly that key, live (and then the
// running config has taken the new value) or restart-only (and then it kept the old one).
#include "app/config_loader.hpp"
#include "app/reload_diff.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <unistd.h>

namespace backstop::app {
namespace {

using Sections = std::map<std::string, std::map<std::string, std::string>>;

struct Change {
  std::string section; // "" = top level; "domain", "listener": the one table of each
  std::string key;
  std::string value; // TOML text
};

struct Variant {
  std::string name; // what the plan must name
  std::vector<Change> changes;
};

// A certificate and key file for the TLS variants (the loader wants them to exist), removed
// when the test ends.
struct TlsFiles {
  TlsFiles() {
    std::ofstream(cert) << "x\n";
    std::ofstream(key) << "x\n";
  }
  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;
  ~TlsFiles() {
    std::filesystem::remove(cert);
    std::filesystem::remove(key);
  }
  static std::string in_tmp(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("reload_diff_test_" + std::to_string(::getpid()) + "_" + name))
        .string();
  }
  const std::string cert = in_tmp("cert.pem");
  const std::string key = in_tmp("key.pem");
};

Sections base_sections() {
  return {
      {"", {{"hostname", "\"mx2.example.test\""}, {"postmaster", "\"pm@example.test\""}}},
      {"smtp", {{"listen", "[\"127.0.0.1:2525\"]"}}},
      {"queue", {{"dir", "\"/tmp/q\""}}},
      {"domain", {{"name", "\"example.test\""}, {"primary", "[\"127.0.0.1:1\"]"}}},
      {"listener", {{"address", "\"127.0.0.9:25\""}, {"kind", "\"tarpit\""}}},
  };
}

std::string render(const Sections& sections) {
  std::string text;
  for (const auto& [k, v] : sections.at("")) {
    text += k + " = " + v + "\n";
  }
  for (const auto& [name, keys] : sections) {
    if (name.empty()) {
      continue;
    }
    const bool array = name == "domain" || name == "listener";
    text += (array ? "[[" + name + "]]\n" : "[" + name + "]\n");
    for (const auto& [k, v] : keys) {
      text += k + " = " + v + "\n";
    }
  }
  return text;
}

Config parse(const std::string& text) {
  auto result = parse_config(text, "test.toml");
  if (auto* errors = std::get_if<ConfigErrors>(&result)) {
    ADD_FAILURE() << errors->messages.front() << "\nin:\n" << text;
    return {};
  }
  return std::get<Config>(result);
}

// One variant per documented key; a key with preconditions changes its partner too.
std::map<std::string, Variant> variants(const TlsFiles& tls) {
  const std::string& cert = tls.cert;
  const std::string& key = tls.key;
  std::vector<Variant> list = {
      {"hostname", {{"", "hostname", "\"mx3.example.test\""}}},
      {"local_names", {{"", "local_names", "[\"mx.example.test\"]"}}},
      {"local_addresses", {{"", "local_addresses", "[\"192.0.2.1\"]"}}},
      {"postmaster", {{"", "postmaster", "\"hostmaster@example.test\""}}},
      {"user", {{"", "user", "\"nobody\""}}},
      {"scheduling", {{"", "scheduling", "\"normal\""}}},
      {"log.level", {{"log", "level", "\"warn\""}}},
      {"log.format", {{"log", "format", "\"json\""}}},
      {"log.output", {{"log", "output", "\"syslog\""}}},
      {"smtp.listen", {{"smtp", "listen", "[\"127.0.0.1:2526\"]"}}},
      {"smtp.max_message_size", {{"smtp", "max_message_size", "1048576"}}},
      {"smtp.max_connections", {{"smtp", "max_connections", "77"}}},
      {"smtp.max_connections_per_ip", {{"smtp", "max_connections_per_ip", "7"}}},
      {"smtp.max_connections_per_network", {{"smtp", "max_connections_per_network", "9"}}},
      {"smtp.network_prefix_ipv4", {{"smtp", "network_prefix_ipv4", "16"}}},
      {"smtp.network_prefix_ipv6", {{"smtp", "network_prefix_ipv6", "48"}}},
      {"smtp.max_recipients", {{"smtp", "max_recipients", "7"}}},
      {"smtp.max_errors", {{"smtp", "max_errors", "3"}}},
      {"smtp.max_line_length", {{"smtp", "max_line_length", "2000"}}},
      {"smtp.hop_count_limit", {{"smtp", "hop_count_limit", "20"}}},
      {"smtp.bare_line_endings", {{"smtp", "bare_line_endings", "\"normalize\""}}},
      {"smtp.tls_certificate",
       {{"smtp", "tls_certificate", "\"" + cert + "\""}, {"smtp", "tls_key", "\"" + key + "\""}}},
      {"smtp.tls_key",
       {{"smtp", "tls_certificate", "\"" + cert + "\""}, {"smtp", "tls_key", "\"" + key + "\""}}},
      {"smtp.command_timeout", {{"smtp", "command_timeout", "\"1m\""}}},
      {"smtp.data_timeout", {{"smtp", "data_timeout", "\"1m\""}}},
      {"smtp.shutdown_timeout", {{"smtp", "shutdown_timeout", "\"5s\""}}},
      {"smtp.greeting_delay", {{"smtp", "greeting_delay", "\"3s\""}}},
      {"smtp.workers", {{"smtp", "workers", "3"}}},
      {"smtp.etrn_clients", {{"smtp", "etrn_clients", "[\"10.0.0.0/8\"]"}}},
      {"smtp.reject_sender_routing", {{"smtp", "reject_sender_routing", "false"}}},
      {"queue.dir", {{"queue", "dir", "\"/tmp/q2\""}}},
      {"queue.segment_size", {{"queue", "segment_size", "2097152"}}},
      {"queue.spill_threshold", {{"queue", "spill_threshold", "8192"}}},
      {"queue.commit_delay_us", {{"queue", "commit_delay_us", "10"}}},
      {"state.path", {{"state", "path", "\"/tmp/other.db\""}}},
      {"state.url", {{"state", "url", "\"redis://127.0.0.1:6390/1\""}}},
      {"state.password", {{"state", "password", "\"secret\""}}},
      {"state.key_prefix", {{"state", "key_prefix", "\"mx:\""}}},
      {"state.timeout", {{"state", "timeout", "50"}}},
      {"state.contacts_keep", {{"state", "contacts_keep", "\"30d\""}}},
      {"offenders.threshold", {{"offenders", "threshold", "9"}}},
      {"offenders.window", {{"offenders", "window", "\"2h\""}}},
      {"offenders.listing", {{"offenders", "listing", "\"2d\""}}},
      {"offenders.keep_offenses", {{"offenders", "keep_offenses", "\"60d\""}}},
      {"offenders.allow_networks", {{"offenders", "allow_networks", "[\"10.0.0.0/8\"]"}}},
      {"offenders.allow_ptr_suffixes", {{"offenders", "allow_ptr_suffixes", "[\".example.org\"]"}}},
      {"peers.addresses", {{"peers", "addresses", "[\"127.0.0.3\", \"10.0.0.0/8\"]"}}},
      {"peers.names", {{"peers", "names", "[\"mx3.example.test\"]"}}},
      {"dns.servers", {{"dns", "servers", "[\"127.0.0.1:53\"]"}}},
      {"dns.timeout", {{"dns", "timeout", "500"}}},
      {"dns.tries", {{"dns", "tries", "4"}}},
      {"dns.temporary_failure_ttl", {{"dns", "temporary_failure_ttl", "\"10s\""}}},
      {"dns.min_ttl", {{"dns", "min_ttl", "\"2m\""}}},
      {"dns.max_ttl", {{"dns", "max_ttl", "\"2h\""}}},
      {"delivery.retry_initial", {{"delivery", "retry_initial", "\"1m\""}}},
      {"delivery.retry_max", {{"delivery", "retry_max", "\"2h\""}}},
      {"delivery.delay_warning", {{"delivery", "delay_warning", "\"1h\""}}},
      {"delivery.max_queue_lifetime", {{"delivery", "max_queue_lifetime", "\"3d\""}}},
      {"delivery.max_connections", {{"delivery", "max_connections", "7"}}},
      {"delivery.max_connections_per_destination",
       {{"delivery", "max_connections_per_destination", "3"}}},
      {"delivery.connect_timeout", {{"delivery", "connect_timeout", "\"5s\""}}},
      {"delivery.command_timeout", {{"delivery", "command_timeout", "\"1m\""}}},
      {"delivery.data_timeout", {{"delivery", "data_timeout", "\"1m\""}}},
      {"delivery.bounce", {{"delivery", "bounce", "\"never\""}}},
      {"delivery.mx_port", {{"delivery", "mx_port", "2525"}}},
      {"delivery.route_check_interval", {{"delivery", "route_check_interval", "\"1m\""}}},
      {"delivery.source_address", {{"delivery", "source_address", "[\"127.0.0.1\"]"}}},
      {"verify.callout", {{"verify", "callout", "false"}}},
      {"verify.sender", {{"verify", "sender", "\"verify@example.test\""}}},
      {"verify.fallback_sender", {{"verify", "fallback_sender", "\"verify@example.test\""}}},
      {"verify.timeout", {{"verify", "timeout", "\"3s\""}}},
      {"verify.positive_ttl", {{"verify", "positive_ttl", "\"40d\""}}},
      {"verify.positive_refresh", {{"verify", "positive_refresh", "\"1d\""}}},
      {"verify.negative_ttl", {{"verify", "negative_ttl", "\"1h\""}}},
      {"verify.max_connections_per_primary", {{"verify", "max_connections_per_primary", "5"}}},
      {"verify.idle_timeout", {{"verify", "idle_timeout", "\"1m\""}}},
      {"verify.primary_down_backoff", {{"verify", "primary_down_backoff", "\"2m\""}}},
      {"verify.cache_size", {{"verify", "cache_size", "1000"}}},
      {"verify.unverified", {{"verify", "unverified", "\"defer\""}}},
      {"verify.max_unknown_recipients", {{"verify", "max_unknown_recipients", "2"}}},
      {"verify.unknown_recipient_delay", {{"verify", "unknown_recipient_delay", "\"5s\""}}},
      {"verify.sender_domain", {{"verify", "sender_domain", "false"}}},
      {"verify.sender_domain_dns_trouble", {{"verify", "sender_domain_dns_trouble", "\"accept\""}}},
      {"monitor.probe_interval", {{"monitor", "probe_interval", "\"5m\""}}},
      {"monitor.probe_timeout", {{"monitor", "probe_timeout", "\"3s\""}}},
      {"monitor.down_after", {{"monitor", "down_after", "5"}}},
      {"monitor.up_after", {{"monitor", "up_after", "5"}}},
      {"monitor.heartbeat_window", {{"monitor", "heartbeat_window", "\"1m\""}}},
      {"monitor.history", {{"monitor", "history", "\"7d\""}}},
      {"admin.control_socket", {{"admin", "control_socket", "\"/tmp/c.sock\""}}},
      {"admin.listen", {{"admin", "listen", "\"127.0.0.1:8026\""}}},
      {"admin.token", {{"admin", "token", "\"secret\""}}},
      {"admin.sample_interval", {{"admin", "sample_interval", "\"5m\""}}},
      {"checks.reject_score", {{"checks", "reject_score", "5"}}},
      {"checks", {{"checks.helo", "mode", "\"warn\""}}},
  };
  std::map<std::string, Variant> out;
  for (auto& v : list) {
    const std::string name = v.name;
    out.emplace(name, std::move(v));
  }
  const std::vector<std::pair<std::string, std::string>> domain = {
      {"name", "\"example.org\""},
      {"primary", "[\"127.0.0.1:2\"]"},
      {"tls", "\"required\""},
      {"verify", "false"},
      {"unverified", "\"defer\""},
      {"sender_domain_dns_trouble", "\"accept\""},
      {"decoy", "[\"mx9.example.test\"]"},
      {"recipients", "\"/tmp/r.txt\""}};
  for (const auto& [k, v] : domain) {
    out.emplace("domain." + k, Variant{"domain", {{"domain", k, v}}});
  }
  const std::vector<std::vector<Change>> listener = {
      {{"listener", "address", "\"127.0.0.10:25\""}},
      {{"listener", "kind", "\"defer\""}},
      {{"listener", "name", "\"old mx\""}},
      {{"listener", "stale_since", "\"2026-01-31\""}},
      {{"listener", "stale_since", "\"2026-01-31\""}, {"listener", "stale_grace", "\"1d\""}},
      {{"listener", "kind", "\"refuse\""}, {"listener", "count_hits", "true"}},
      {{"listener", "max_duration", "\"30s\""}},
      {{"listener", "max_commands", "5"}},
      {{"listener", "stutter", "500"}},
      {{"listener", "max_bytes_per_second", "100"}},
      {{"listener", "proxy_protocol", "true"}},
      {{"listener", "proxy_protocol", "true"}, {"listener", "trusted_proxies", "[\"10.0.0.0/8\"]"}},
      {{"listener", "proxy_protocol", "true"}, {"listener", "proxy_timeout", "\"9s\""}},
  };
  for (const auto& changes : listener) {
    out.emplace("listener." + changes.back().key, Variant{"listener", changes});
  }
  out.emplace("state.backend", Variant{"state.backend", {{"state", "backend", "\"redis\""}}});
  return out;
}

// (section, key) of every option row in docs/configuration.md, [checks.*] excepted: the checks
// are one live table (the pipeline is rebuilt from it).
std::vector<std::pair<std::string, std::string>> documented_keys() {
  std::ifstream in(std::string(BACKSTOP_TEST_DATA) + "/../../docs/configuration.md");
  EXPECT_TRUE(in.good());
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  std::string section;
  bool skip = true;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      skip = line.find("checks") != std::string::npos;
      if (line == "## Top level") {
        section = "";
      } else if (line.rfind("## [[", 0) == 0) {
        section = line.substr(5, line.find("]]") - 5);
      } else if (line.rfind("## [", 0) == 0) {
        section = line.substr(4, line.find(']') - 4);
      } else {
        skip = true;
      }
      continue;
    }
    if (!skip && line.rfind("| `", 0) == 0) {
      const auto end = line.find('`', 3);
      out.emplace_back(section, line.substr(3, end - 3));
    }
  }
  return out;
}

TEST(ReloadDiff, EveryDocumentedOptionHasAVariantHere) {
  const TlsFiles tls;
  const auto all = variants(tls);
  const auto keys = documented_keys();
  ASSERT_GT(keys.size(), 90u);
  for (const auto& [section, key] : keys) {
    const std::string name = section.empty() ? key : section + "." + key;
    EXPECT_TRUE(all.count(name) == 1) << name << ": documented, but not walked here";
  }
}

TEST(ReloadDiff, EveryOptionIsEitherAppliedLiveOrNamedAsNeedingARestart) {
  const Config running = parse(render(base_sections()));
  const TlsFiles tls;
  for (const auto& [id, variant] : variants(tls)) {
    Sections sections = base_sections();
    for (const auto& c : variant.changes) {
      sections[c.section][c.key] = c.value;
    }
    const Config next = parse(render(sections));
    Config applied = running;
    const auto plan = take_live_options(applied, next);
    std::set<std::string> named(plan.live.begin(), plan.live.end());
    named.insert(plan.restart.begin(), plan.restart.end());
    std::set<std::string> wanted{variant.name};
    if (id == "smtp.tls_certificate" || id == "smtp.tls_key") { // set together
      wanted = {"smtp.tls_certificate", "smtp.tls_key"};
    }
    if (id == "checks.reject_score") { // a key of the [checks] table, rebuilt as a whole too
      wanted.insert("checks");
    }
    EXPECT_EQ(named, wanted) << id << ": a reload must name what it changed";
    Config again = applied;
    const bool live = !plan.live.empty();
    // Live: nothing of next is left to take. Restart-only: the running value stayed.
    const auto rest = take_live_options(again, live ? next : running);
    EXPECT_TRUE(rest.live.empty() && rest.restart.empty())
        << id << (live ? ": not fully taken over" : ": changed although restart-only");
  }
}

TEST(ReloadDiff, WhatTheSessionsAndDeliveryReadIsLiveTheRestNeedsARestart) {
  const Config running = parse(render(base_sections()));
  Sections sections = base_sections();
  sections["verify"]["unverified"] = "\"defer\"";
  sections["smtp"]["max_recipients"] = "7";
  Config applied = running;
  const auto plan = take_live_options(applied, parse(render(sections)));
  EXPECT_EQ(plan.live, std::vector<std::string>{"verify.unverified"});
  EXPECT_EQ(plan.restart, std::vector<std::string>{"smtp.max_recipients"});
  EXPECT_EQ(applied.verify.unverified, policy::UnverifiedPolicy::Defer);
  EXPECT_EQ(applied.smtp.max_recipients, running.smtp.max_recipients);
}

} // namespace
} // namespace backstop::app
