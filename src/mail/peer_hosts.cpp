// peer_hosts: [peers] as networks and normalised names.
#include "mail/peer_hosts.hpp"

#include "mail/address.hpp"
#include "mail/ip_address.hpp"

namespace backstop::mail {

PeerHosts PeerHosts::parse(const std::vector<std::string>& addresses,
                           const std::vector<std::string>& names,
                           std::vector<std::string>& errors) {
  PeerHosts peers;
  for (const auto& text : addresses) {
    if (auto cidr = Cidr::parse(text)) {
      peers.networks.push_back(*cidr);
    } else {
      errors.push_back("\"" + text + "\" is not an address or network");
    }
  }
  for (const auto& name : names) {
    const auto normal = normalize_domain(name);
    if (normal.empty() || normal.find('.') == std::string::npos) {
      errors.push_back("\"" + name + "\" is not a host name");
    } else {
      peers.names.insert(normal);
    }
  }
  return peers;
}

bool PeerHosts::has_address(const asio::ip::address& address) const {
  return has_address(unmapped(address).to_string());
}

bool PeerHosts::has_name(std::string_view name) const {
  return names.contains(normalize_domain(name));
}

} // namespace backstop::mail
