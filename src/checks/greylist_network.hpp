// greylist_network: the client network of a greylisting triplet. Mail servers of one
// sender retry from a neighbouring address of the same farm, so a triplet names the
// network (/24, /64 by default), not the address.
#pragma once

#include <asio/ip/address.hpp>
#include <string>

namespace backstop::checks {

// "192.0.2.0/24" or "2001:db8:1:2::/64"; an IPv4-mapped IPv6 address counts as IPv4.
std::string greylist_network(const asio::ip::address& address, unsigned ipv4_prefix,
                             unsigned ipv6_prefix);

} // namespace backstop::checks
