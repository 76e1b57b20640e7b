// reverse_name: octets or nibbles in reverse order, joined with dots.
#include "dns/reverse_name.hpp"

#include "mail/ip_address.hpp"

namespace backstop::dns {

namespace {

using mail::unmapped;

} // namespace

std::string reversed_labels(const asio::ip::address& address) {
  const auto plain = unmapped(address);
  std::string out;
  if (plain.is_v4()) {
    const auto bytes = plain.to_v4().to_bytes();
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
      out += (out.empty() ? "" : ".") + std::to_string(*it);
    }
    return out;
  }
  constexpr const char* hex = "0123456789abcdef";
  const auto bytes = plain.to_v6().to_bytes();
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
    out += hex[*it & 0x0F];
    out += '.';
    out += hex[*it >> 4];
    out += '.';
  }
  out.pop_back();
  return out;
}

std::string ptr_name(const asio::ip::address& address) {
  return reversed_labels(address) + (unmapped(address).is_v4() ? ".in-addr.arpa" : ".ip6.arpa");
}

} // namespace backstop::dns
