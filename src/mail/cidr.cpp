// cidr: prefix matching on raw address bytes.
#include "mail/cidr.hpp"

#include "mail/ip_address.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <string>

namespace backstop::mail {

namespace {
bool to_bytes(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out) {
  const std::string s(text);
  out.fill(0);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

// ::ffff:a.b.c.d (RFC 4291 2.5.5.2): how a dual-stack socket shows an IPv4 peer.
bool is_v4_mapped(const std::array<std::uint8_t, 16>& bytes) {
  for (std::size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) {
      return false;
    }
  }
  return bytes[10] == 0xFF && bytes[11] == 0xFF;
}

void unmap(std::array<std::uint8_t, 16>& bytes) {
  std::copy(bytes.begin() + 12, bytes.end(), bytes.begin());
  std::fill(bytes.begin() + 4, bytes.end(), 0);
}
} // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  const auto slash = text.find('/');
  if (!to_bytes(text.substr(0, slash), c.v6_, c.bytes_)) {
    return std::nullopt;
  }
  const int max = c.v6_ ? 128 : 32;
  c.bits_ = max;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), c.bits_);
    if (ec != std::errc() || end != bits.data() + bits.size() || c.bits_ < 0 || c.bits_ > max) {
      return std::nullopt;
    }
  }
  // A mapped network that stays inside the mapped range is the IPv4 network it maps.
  if (c.v6_ && c.bits_ >= 96 && is_v4_mapped(c.bytes_)) {
    unmap(c.bytes_);
    c.v6_ = false;
    c.bits_ -= 96;
  }
  return c;
}

bool Cidr::contains(std::string_view address) const {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
  if (!to_bytes(address, v6, bytes)) {
    return false;
  }
  if (v6 && is_v4_mapped(bytes)) {
    unmap(bytes); // an IPv4 client, whatever socket it came in on
    v6 = false;
  }
  if (v6 != v6_) {
    return false;
  }
  int left = bits_;
  for (std::size_t i = 0; left > 0; ++i, left -= 8) {
    const int take = left >= 8 ? 8 : left;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((bytes[i] & mask) != (bytes_[i] & mask)) {
      return false;
    }
  }
  return true;
}

bool any_contains(const std::vector<Cidr>& networks, std::string_view address) {
  for (const auto& n : networks) {
    if (n.contains(address)) {
      return true;
    }
  }
  return false;
}

std::string network_of(std::string_view address, int ipv4_prefix, int ipv6_prefix) {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
  if (!to_bytes(address, v6, bytes)) {
    return {};
  }
  if (v6 && is_v4_mapped(bytes)) {
    unmap(bytes);
    v6 = false;
  }
  const int bits = std::clamp(v6 ? ipv6_prefix : ipv4_prefix, 0, v6 ? 128 : 32);
  int left = bits;
  for (auto& byte : bytes) {
    byte &= static_cast<std::uint8_t>(left >= 8 ? 0xFF : left <= 0 ? 0 : 0xFF << (8 - left));
    left -= 8;
  }
  if (!v6) {
    const asio::ip::address_v4 four({bytes[0], bytes[1], bytes[2], bytes[3]});
    return address_text(asio::ip::address(four)) + "/" + std::to_string(bits);
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(bits);
}

} // namespace backstop::mail
