// peer_hosts: the other backstop hosts that back up the same domains ([peers]): by address
// or network, and by name. A peer relays mail it accepted as a backup MX: the SPF check
// trusts it, the filter checks let it through, the offender rules never list it, and
// delivery never hands it mail unless it is a more preferred MX than this host.
#pragma once

#include "mail/cidr.hpp"

#include <asio/ip/address.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::mail {

struct PeerHosts {
  std::vector<Cidr> networks;
  std::set<std::string, std::less<>> names; // lower case, no trailing dot

  // Both lists as written; an entry that does not parse is named in errors.
  static PeerHosts parse(const std::vector<std::string>& addresses,
                         const std::vector<std::string>& names, std::vector<std::string>& errors);
  bool empty() const { return networks.empty() && names.empty(); }
  bool has_address(std::string_view address) const { return any_contains(networks, address); }
  bool has_address(const asio::ip::address& address) const;
  bool has_name(std::string_view name) const;
};

} // namespace backstop::mail
