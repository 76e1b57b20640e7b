// cidr: IPv4/IPv6 networks ("192.0.2.0/24", "2001:db8::/32", or a single address) and
// whether an address falls inside. Used for ETRN clients and, later, allow lists. An
// IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address it maps, as a network
// too when its prefix is at least 96 bits (::ffff:192.0.2.0/120 is 192.0.2.0/24).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::mail {

class Cidr {
public:
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(std::string_view address) const;

private:
  bool v6_ = false;
  std::array<std::uint8_t, 16> bytes_{};
  int bits_ = 0;
};

// The network an address belongs to, as text: "198.51.100.0/24", "2001:db8:1:2::/64" (an
// IPv4-mapped address is its IPv4 address); "" when address is not an address. For limits
// and greylisting that count a client's network.
std::string network_of(std::string_view address, int ipv4_prefix, int ipv6_prefix);

// True when address is inside any of networks.
bool any_contains(const std::vector<Cidr>& networks, std::string_view address);

} // namespace backstop::mail
