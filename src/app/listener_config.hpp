// listener_config: [[listener]] tables (extra listeners of a kind, the traps of src/trap/)
// read and validated, and turned into what the trap module runs.
#pragma once

#include "app/config.hpp"
#include "app/toml_reader.hpp"
#include "smtp/proxy_reader.hpp"
#include "trap/trap_listener.hpp"

#include <optional>
#include <string>
#include <vector>

namespace backstop::app {

void read_listeners(TomlReader& top, const toml::array* tables,
                    const std::vector<Endpoint>& smtp_listen, std::vector<ListenerConfig>& out,
                    std::vector<std::string>& errors);

// What the trap module is given for one listener (any kind).
trap::TrapListener trap_listener(const ListenerConfig& config);

// proxy_protocol = true: what the server needs to read the PROXY header; else none.
std::optional<smtp::ProxySettings> proxy_settings(const ListenerConfig& config);

} // namespace backstop::app
