// config_loader: reads the TOML file and validates all of it at once. Every problem is
// reported, each naming the key and the line ("smtp.max_connections (line 7): must be ...").
// Unknown keys are errors too: a typo must never silently fall back to a default.
#pragma once

#include "app/config.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace backstop::app {

struct ConfigErrors {
  std::vector<std::string> messages;
};

// "127.0.0.1:25", "[::1]:25": an IP address and port (default_port when none is given).
bool parse_ip_endpoint(std::string_view text, std::uint16_t default_port, Endpoint& out);

std::variant<Config, ConfigErrors> load_config(const std::filesystem::path& file);
std::variant<Config, ConfigErrors> parse_config(std::string_view toml_text,
                                                const std::filesystem::path& source);

} // namespace backstop::app
