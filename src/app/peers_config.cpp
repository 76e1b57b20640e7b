// peers_config: [peers] addresses and names.
#include "app/peers_config.hpp"

namespace backstop::app {

void read_peers(TomlReader& r, PeersConfig& peers) {
  r.strings("addresses", peers.addresses);
  r.strings("names", peers.names);
  std::vector<std::string> address_errors;
  mail::PeerHosts::parse(peers.addresses, {}, address_errors);
  for (const auto& e : address_errors) {
    r.error("addresses", e);
  }
  std::vector<std::string> name_errors;
  mail::PeerHosts::parse({}, peers.names, name_errors);
  for (const auto& e : name_errors) {
    r.error("names", e);
  }
  r.finish();
}

mail::PeerHosts peer_hosts(const Config& config) {
  std::vector<std::string> errors;
  return mail::PeerHosts::parse(config.peers.addresses, config.peers.names, errors);
}

} // namespace backstop::app
