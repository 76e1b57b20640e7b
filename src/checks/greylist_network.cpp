// greylist_network: masking an address to its prefix.
#include "checks/greylist_network.hpp"

#include "mail/ip_address.hpp"

#include <algorithm>

namespace backstop::checks {

namespace {

template <typename Bytes> void keep_prefix(Bytes& bytes, unsigned prefix) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (prefix <= first_bit) {
      bytes[i] = 0;
    } else if (prefix < first_bit + 8) {
      bytes[i] &= static_cast<unsigned char>(0xff << (8 - (prefix - first_bit)));
    }
  }
}

} // namespace

std::string greylist_network(const asio::ip::address& address, unsigned ipv4_prefix,
                             unsigned ipv6_prefix) {
  const auto plain = mail::unmapped(address);
  if (plain.is_v4()) {
    auto bytes = plain.to_v4().to_bytes();
    const unsigned prefix = std::min(ipv4_prefix, 32u);
    keep_prefix(bytes, prefix);
    return mail::address_text(asio::ip::address_v4(bytes)) + "/" + std::to_string(prefix);
  }
  auto bytes = address.to_v6().to_bytes();
  const unsigned prefix = std::min(ipv6_prefix, 128u);
  keep_prefix(bytes, prefix);
  return asio::ip::address_v6(bytes).to_string() + "/" + std::to_string(prefix);
}

} // namespace backstop::checks
