// blacklist_command: `backstop blacklist list|add|remove|report|export` and `backstop
// offenders`. They open the state store directly (WAL: the server may run meanwhile) and
// list by the same [offenders] rules and allowlist as the server.
#pragma once

#include "app/config.hpp"

#include <string>

namespace backstop::app {

struct BlacklistCommand {
  std::string command; // list, add, remove, report, export
  std::string address;
  std::string duration;           // add --for: "7d", "forever"; "" = [offenders] listing
  std::string reason;             // add --reason; report --detail
  std::string kind = "trap";      // report --kind
  std::string listener = "cli";   // report --listener
  std::string format = "rbldnsd"; // export: rbldnsd, rbldnsd6, bind
  std::string zone;               // export: "" = blacklist.<hostname>
  std::string nameserver;         // export: "" = hostname
  std::string output;             // export: "" = standard output
  bool json = false;
};

struct OffendersCommand {
  std::string address; // "" = every address
  std::string since;   // "1d"; "" = every offense kept
  bool json = false;
};

int run_blacklist_command(const Config& config, const BlacklistCommand& command);
int run_offenders_command(const Config& config, const OffendersCommand& command);

// "90s", "5m", "4h", "7d", "2w" or plain seconds; nullopt otherwise.
std::optional<std::int64_t> parse_cli_duration(const std::string& text);

} // namespace backstop::app
