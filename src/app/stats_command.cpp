// stats_command: ask the server, print its counters with what each one means.
#include "app/stats_command.hpp"

#include "admin/control_socket.hpp"
#include "metrics/counters.hpp"

#include <fmt/format.h>
#include <iostream>

namespace backstop::app {

namespace {

void print_text(const nlohmann::json& stats) {
  std::cout << fmt::format("uptime {}s, {} messages queued\n",
                           stats.value("uptime_seconds", std::int64_t{0}),
                           stats.value("queued_messages", std::uint64_t{0}));
  const auto& values = stats.at("counters");
  // The help texts come from this binary: the server sends only names and values.
  for (const auto& sample : metrics::Counters().samples()) {
    const std::string name(sample.name);
    const std::uint64_t value = values.value(name, std::uint64_t{0});
    std::cout << fmt::format("{:<28} {:>12}  {}\n", name, value, sample.help);
  }
  const auto& refusals = stats.at("refusals");
  std::cout << (refusals.empty() ? "no MAIL or RCPT refused\n"
                                 : "refused (stage, decision, check):\n");
  for (const auto& [key, value] : refusals.items()) {
    std::cout << fmt::format("  {:<40} {:>12}\n", key, value.get<std::uint64_t>());
  }
}

} // namespace

int run_stats_command(const Config& config, bool json) {
  auto answer = admin::control_request(config.control_socket(), {{"command", "stats"}});
  if (!answer) {
    std::cerr << "backstop stats: no server answers on " << config.control_socket().string()
              << " (counters live in the running server)\n";
    return 1;
  }
  if (!answer->value("ok", false)) {
    std::cerr << "backstop stats: " << answer->value("error", "failed") << "\n";
    return 1;
  }
  if (json) {
    std::cout << admin::dump_json(*answer, 2) << "\n";
  } else {
    print_text(*answer);
  }
  return 0;
}

} // namespace backstop::app
