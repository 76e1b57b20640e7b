// peers_config: reads [peers] (docs/configuration.md) and turns it into mail::PeerHosts.
#pragma once

#include "app/config.hpp"
#include "app/toml_reader.hpp"
#include "mail/peer_hosts.hpp"

namespace backstop::app {

void read_peers(TomlReader& r, PeersConfig& peers);
// Validated when the configuration was read.
mail::PeerHosts peer_hosts(const Config& config);

} // namespace backstop::app
