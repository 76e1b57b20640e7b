// ip_address: an IPv4 client seen on an IPv6 socket (::ffff:192.0.2.1) is the IPv4 address
// it maps; every comparison, listing and reverse lookup uses that form.
#pragma once

#include <asio/ip/address.hpp>
#include <string>

namespace backstop::mail {

inline asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

// address.to_string(), formatted without inet_ntop for IPv4.
std::string address_text(const asio::ip::address& address);

} // namespace backstop::mail
