// reverse_name: an address written backwards as DNS labels, the form PTR names (RFC 1035
// 3.5, RFC 3596 2.5) and DNSBL queries (RFC 5782 2.1, 2.4) use: "4.3.2.1" for 1.2.3.4, and
// 32 nibbles, lowest first, for an IPv6 address. An IPv4-mapped IPv6 address is its IPv4
// address, since that is the client the listing is about.
#pragma once

#include <asio/ip/address.hpp>
#include <string>

namespace backstop::dns {

// "4.3.2.1" for 1.2.3.4; "1.0.0.0. ... .8.b.d.0.1.0.0.2" for 2001:db8::1.
std::string reversed_labels(const asio::ip::address& address);
// The PTR name: reversed_labels under "in-addr.arpa" or "ip6.arpa".
std::string ptr_name(const asio::ip::address& address);

} // namespace backstop::dns
