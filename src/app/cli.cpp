// cli: the `backstop` command line. Subcommands: serve, check-config, queue, verify, cache,
// stats, reload, blacklist, offenders, heartbeat.
#include "app/cli.hpp"

#include "app/blacklist_command.hpp"
#include "app/check_config.hpp"
#include "app/config_loader.hpp"
#include "app/contact_commands.hpp"
#include "app/heartbeat_command.hpp"
#include "app/queue_command.hpp"
#include "app/reload_command.hpp"
#include "app/serve.hpp"
#include "app/stats_command.hpp"
#include "app/verification.hpp"
#include "app/verify_command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

namespace backstop::app {

namespace {

// Prints every error; returns the config only when it is valid.
std::optional<Config> load_or_report(const std::string& path) {
  auto loaded = load_config(path);
  if (auto* errors = std::get_if<ConfigErrors>(&loaded)) {
    for (const auto& e : errors->messages) {
      std::cerr << path << ": " << e << "\n";
    }
    return std::nullopt;
  }
  return std::get<Config>(std::move(loaded));
}

void add_queue_commands(CLI::App& queue, QueueCommand& command) {
  queue.require_subcommand(1);
  struct Spec {
    const char* name;
    const char* help;
    const char* argument;
    bool required;
  };
  static const Spec specs[] = {
      {"list", "list queued messages (like mailq)", nullptr, false},
      {"show", "show one message: envelope, state and content", "ID", true},
      {"delete", "delete a message for good", "ID", true},
      {"hold", "keep a message from being delivered", "ID", true},
      {"release", "release a held message", "ID", true},
      {"flush", "deliver now what waits (all, or one domain)", "DOMAIN", false},
  };
  for (const auto& spec : specs) {
    auto* sub = queue.add_subcommand(spec.name, spec.help);
    sub->fallthrough();
    sub->add_flag("--json", command.json, "print JSON instead of text");
    if (spec.argument != nullptr) {
      auto* opt = sub->add_option(spec.argument, command.argument, spec.argument);
      if (spec.required) {
        opt->required();
      }
    }
    sub->callback([&command, name = spec.name] { command.command = name; });
  }
}

void add_cache_commands(CLI::App& cache, CacheCommand& command) {
  cache.require_subcommand(1);
  auto* list = cache.add_subcommand("list", "list remembered recipient verification answers");
  auto* flush = cache.add_subcommand("flush", "forget answers: all, one ADDRESS or @DOMAIN");
  flush->add_option("PATTERN", command.pattern, "address or @domain; nothing = everything");
  for (auto* sub : {list, flush}) {
    sub->fallthrough();
    sub->add_flag("--json", command.json, "print JSON instead of text");
    sub->callback([&command, sub] { command.command = sub->get_name(); });
  }
}

void add_blacklist_commands(CLI::App& blacklist, BlacklistCommand& command) {
  blacklist.require_subcommand(1);
  auto* list = blacklist.add_subcommand("list", "the listed addresses, until when and why");
  auto* add = blacklist.add_subcommand("add", "list an address by hand");
  add->add_option("--for", command.duration, "how long: 90s, 4h, 7d, 2w or forever")
      ->default_str("[offenders] listing");
  add->add_option("--reason", command.reason, "why, for the log and the zone's TXT record");
  auto* remove = blacklist.add_subcommand("remove", "take an address off the blacklist");
  auto* report = blacklist.add_subcommand(
      "report", "record an offense seen elsewhere (a firewall log): it counts like our own");
  report->add_option("--kind", command.kind, "primary-deferral, trap, skipped-primary, stale-mx")
      ->capture_default_str();
  report->add_option("--detail", command.reason, "the evidence in words");
  report->add_option("--listener", command.listener, "where it was seen")->capture_default_str();
  for (auto* sub : {add, remove, report}) {
    sub->add_option("ADDRESS", command.address, "IPv4 or IPv6 address")->required();
  }
  auto* exported = blacklist.add_subcommand("export", "the blacklist as a DNSBL zone");
  exported->add_option("--format", command.format, "rbldnsd (ip4set), rbldnsd6 (ip6trie), bind")
      ->check(CLI::IsMember({"rbldnsd", "rbldnsd6", "bind"}))
      ->capture_default_str();
  exported->add_option("--zone", command.zone, "the zone's name")
      ->default_str("blacklist.<hostname>");
  exported->add_option("--ns", command.nameserver, "its name server")->default_str("<hostname>");
  exported->add_option("-o,--output", command.output, "write this file (atomically) instead");
  for (auto* sub : {list, add, remove, report, exported}) {
    sub->fallthrough();
    sub->add_flag("--json", command.json, "print JSON instead of text");
    sub->callback([&command, sub] { command.command = sub->get_name(); });
  }
}

} // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"backstop: a backup MX that spammers cannot abuse"};
  app.require_subcommand(1);
  std::string config_path = "/etc/backstop/backstop.toml";
  auto* serve_cmd = app.add_subcommand("serve", "run the server in the foreground");
  auto* check_cmd = app.add_subcommand("check-config", "validate the configuration file");
  auto* queue_cmd = app.add_subcommand("queue", "inspect and manage the queue");
  auto* verify_cmd = app.add_subcommand(
      "verify", "what backstop knows about a recipient: the cache, then a live callout");
  auto* cache_cmd = app.add_subcommand("cache", "the recipient verification cache");
  auto* stats_cmd = app.add_subcommand("stats", "counters of the running server since it started");
  auto* reload_cmd =
      app.add_subcommand("reload", "make the running server re-read its configuration (SIGHUP)");
  auto* blacklist_cmd = app.add_subcommand("blacklist", "the blacklist of repeat offenders");
  BlacklistCommand blacklist_command;
  add_blacklist_commands(*blacklist_cmd, blacklist_command);
  auto* offenders_cmd =
      app.add_subcommand("offenders", "offenses with their evidence and listing, newest first");
  OffendersCommand offenders_command;
  offenders_cmd->add_option("ADDRESS", offenders_command.address, "one client address");
  offenders_cmd->add_option("--since", offenders_command.since, "only this recent: 1h, 7d");
  offenders_cmd->add_flag("--json", offenders_command.json, "print JSON instead of text");
  bool stats_json = false;
  stats_cmd->add_flag("--json", stats_json, "print JSON instead of text");
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  VerifyCommand verify_command;
  verify_cmd->add_option("ADDRESS", verify_command.address, "user@domain")->required();
  verify_cmd->add_flag("--json", verify_command.json, "print JSON instead of text");
  bool cached_only = false;
  verify_cmd->add_flag("--cached-only", cached_only, "do not ask the primary");
  CacheCommand cache_command;
  add_cache_commands(*cache_cmd, cache_command);
  for (auto* sub : {serve_cmd, check_cmd, queue_cmd, verify_cmd, cache_cmd, stats_cmd, reload_cmd,
                    blacklist_cmd, offenders_cmd}) {
    sub->fallthrough(); // "--config" may come before or after the subcommand
  }
  QueueCommand queue_command;
  add_queue_commands(*queue_cmd, queue_command);
  auto* heartbeat_cmd = app.add_subcommand(
      "heartbeat", "on the primary: tell a backup MX, by ETRN, that the primary is alive");
  HeartbeatCommand heartbeat;
  heartbeat_cmd->add_option("--to", heartbeat.to, "the backup MX, HOST:PORT")->required();
  heartbeat_cmd->add_option("--domain", heartbeat.domains, "a domain this host is primary for")
      ->required();
  heartbeat_cmd->add_option("--helo", heartbeat.helo, "EHLO name (default: this host's name)");
  std::uint64_t heartbeat_timeout = 30;
  heartbeat_cmd->add_option("--timeout", heartbeat_timeout, "seconds for the whole conversation")
      ->capture_default_str();
  ContactCommands contact_commands;
  add_contact_commands(app, contact_commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (heartbeat_cmd->parsed()) { // runs on the primary's host: no configuration needed
    heartbeat.timeout = std::chrono::seconds(heartbeat_timeout);
    return run_heartbeat_command(heartbeat);
  }
  auto config = load_or_report(config_path);
  if (!config) {
    return 1;
  }
  if (check_cmd->parsed()) {
    return run_check_config(*config, config_path);
  }
  if (queue_cmd->parsed()) {
    return run_queue_command(*config, queue_command);
  }
  if (verify_cmd->parsed()) {
    verify_command.callout = !cached_only;
    return run_verify_command(*config, verify_command);
  }
  if (cache_cmd->parsed()) {
    return run_cache_command(*config, cache_command);
  }
  if (blacklist_cmd->parsed()) {
    return run_blacklist_command(*config, blacklist_command);
  }
  if (offenders_cmd->parsed()) {
    return run_offenders_command(*config, offenders_command);
  }
  if (stats_cmd->parsed()) {
    return run_stats_command(*config, stats_json);
  }
  if (reload_cmd->parsed()) {
    return run_reload_command(*config);
  }
  if (auto status = run_contact_commands(*config, contact_commands)) {
    return *status;
  }
  return serve(*config);
}

} // namespace backstop::app
