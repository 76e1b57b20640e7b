// contact_commands: `backstop ingest` (a primary's mail log into the contact store) and
// `backstop contacts ADDRESS` (which MX hosts an address contacted, and when: the evidence
// behind a "skipped the primary" offense).
#pragma once

#include "app/config.hpp"

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace backstop::app {

struct ContactCommands {
  CLI::App* ingest = nullptr;
  std::string format;
  std::string host;
  std::string file;
  bool from_start = false;
  CLI::App* contacts = nullptr;
  std::string address;
  bool json = false;
};

void add_contact_commands(CLI::App& app, ContactCommands& commands);
// The exit status when one of them was given; nullopt otherwise.
std::optional<int> run_contact_commands(const Config& config, const ContactCommands& commands);

} // namespace backstop::app
