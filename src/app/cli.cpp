// cli: the `backstop` command line. Subcommands: serve, check-config, queue.
#include "app/cli.hpp"

#include "app/config_loader.hpp"
#include "app/queue_command.hpp"
#include "app/serve.hpp"

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

} // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"backstop: a backup MX that spammers cannot abuse"};
  app.require_subcommand(1);
  std::string config_path = "/etc/backstop/backstop.toml";
  auto* serve_cmd = app.add_subcommand("serve", "run the server in the foreground");
  auto* check_cmd = app.add_subcommand("check-config", "validate the configuration file");
  auto* queue_cmd = app.add_subcommand("queue", "inspect and manage the queue");
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  for (auto* sub : {serve_cmd, check_cmd, queue_cmd}) {
    sub->fallthrough(); // "--config" may come before or after the subcommand
  }
  QueueCommand queue_command;
  add_queue_commands(*queue_cmd, queue_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto config = load_or_report(config_path);
  if (!config) {
    return 1;
  }
  if (check_cmd->parsed()) {
    std::cout << config_path << ": ok (" << config->domains.size() << " domains)\n";
    return 0;
  }
  if (queue_cmd->parsed()) {
    return run_queue_command(*config, queue_command);
  }
  return serve(*config);
}

} // namespace backstop::app
