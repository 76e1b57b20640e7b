// proxy_header: v1 is "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n", single spaces, at most
// 107 bytes; v2 is a 12-byte signature, version/command, family/transport, a big-endian
// length, then the addresses and TLVs (skipped: we only need the client's address).
#include "smtp/proxy_header.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace backstop::smtp {

namespace {

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};

ProxyHeader invalid(int version, std::string_view why) {
  ProxyHeader h;
  h.status = ProxyStatus::Invalid;
  h.version = version;
  h.error = why;
  return h;
}

ProxyHeader need_more(int version) {
  ProxyHeader h;
  h.version = version;
  return h;
}

// True when input is a prefix of whole (or whole itself).
bool starts_like(std::string_view input, std::string_view whole) {
  const auto n = std::min(input.size(), whole.size());
  return input.substr(0, n) == whole.substr(0, n);
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> fields;
  for (;;) {
    const auto space = text.find(' ');
    fields.push_back(text.substr(0, space));
    if (space == std::string_view::npos) {
      return fields;
    }
    text.remove_prefix(space + 1);
  }
}

// Decimal 0..65535, no sign, no leading zero (the spec's form).
bool parse_port(std::string_view text, std::uint16_t& out) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 65535) {
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_ip(std::string_view text, bool v6, asio::ip::address& out) {
  std::error_code ec;
  const std::string s(text);
  if (v6) {
    out = asio::ip::make_address_v6(s, ec);
  } else {
    out = asio::ip::make_address_v4(s, ec);
  }
  return !ec;
}

bool parse_endpoint(std::string_view ip, std::string_view port, bool v6,
                    asio::ip::tcp::endpoint& out) {
  asio::ip::address address;
  std::uint16_t number = 0;
  if (!parse_ip(ip, v6, address) || !parse_port(port, number)) {
    return false;
  }
  out = asio::ip::tcp::endpoint(address, number);
  return true;
}

// The fields between "PROXY " and CRLF.
ProxyHeader parse_v1_fields(std::string_view line, std::size_t length) {
  const auto fields = split_spaces(line);
  ProxyHeader h;
  h.status = ProxyStatus::Complete;
  h.version = 1;
  h.length = length;
  if (fields[0] == "UNKNOWN") {
    return h; // whatever follows is to be ignored
  }
  if (fields[0] != "TCP4" && fields[0] != "TCP6") {
    return invalid(1, "v1: the protocol is not TCP4, TCP6 or UNKNOWN");
  }
  if (fields.size() != 5) {
    return invalid(1, "v1: not \"proto src dst sport dport\" with single spaces");
  }
  const bool v6 = fields[0] == "TCP6";
  if (!parse_endpoint(fields[1], fields[3], v6, h.source) ||
      !parse_endpoint(fields[2], fields[4], v6, h.destination)) {
    return invalid(1, "v1: an address or port is malformed");
  }
  h.has_client = true;
  return h;
}

ProxyHeader parse_v1(std::string_view input) {
  if (input.size() < v1_prefix.size()) {
    return need_more(1);
  }
  const auto window = input.substr(0, proxy_v1_max);
  const auto end = window.find_first_of("\r\n");
  if (end == std::string_view::npos) {
    return window.size() < proxy_v1_max ? need_more(1) : invalid(1, "v1: no CRLF within 107 bytes");
  }
  if (window[end] == '\n') {
    return invalid(1, "v1: a bare LF");
  }
  if (end + 2 > proxy_v1_max) {
    return invalid(1, "v1: no CRLF within 107 bytes");
  }
  if (end + 1 == input.size()) {
    return need_more(1); // the LF may still come
  }
  if (input[end + 1] != '\n') {
    return invalid(1, "v1: a bare CR");
  }
  return parse_v1_fields(input.substr(v1_prefix.size(), end - v1_prefix.size()), end + 2);
}

std::uint8_t byte_at(std::string_view input, std::size_t i) {
  return static_cast<std::uint8_t>(input[i]);
}

std::uint16_t u16_at(std::string_view input, std::size_t i) {
  return static_cast<std::uint16_t>(byte_at(input, i) << 8 | byte_at(input, i + 1));
}

asio::ip::tcp::endpoint v4_at(std::string_view input, std::size_t address, std::size_t port) {
  asio::ip::address_v4::bytes_type bytes;
  std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(address), 4, bytes.begin());
  return {asio::ip::address_v4(bytes), u16_at(input, port)};
}

asio::ip::tcp::endpoint v6_at(std::string_view input, std::size_t address, std::size_t port) {
  asio::ip::address_v6::bytes_type bytes;
  std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(address), 16, bytes.begin());
  return {asio::ip::address_v6(bytes), u16_at(input, port)};
}

// The addresses of a PROXY command (input holds the whole header).
ProxyHeader parse_v2_addresses(std::string_view input, ProxyHeader h) {
  const std::uint8_t family = byte_at(input, 13) >> 4;
  const std::uint8_t transport = byte_at(input, 13) & 0x0f;
  const std::size_t payload = h.length - proxy_v2_fixed;
  if (family == 0) {
    return h; // UNSPEC: an unknown protocol; the real peer stands
  }
  if ((family != 1 && family != 2) || transport != 1) {
    return invalid(2, "v2: not a TCP over IPv4 or IPv6 connection");
  }
  const std::size_t needed = family == 1 ? 12 : 36;
  if (payload < needed) {
    return invalid(2, "v2: the length is too short for the addresses");
  }
  const std::size_t at = proxy_v2_fixed;
  if (family == 1) {
    h.source = v4_at(input, at, at + 8);
    h.destination = v4_at(input, at + 4, at + 10);
  } else {
    h.source = v6_at(input, at, at + 32);
    h.destination = v6_at(input, at + 16, at + 34);
  }
  h.has_client = true;
  return h;
}

ProxyHeader parse_v2(std::string_view input) {
  if (input.size() < proxy_v2_fixed) {
    return starts_like(input, v2_signature) ? need_more(2)
                                            : invalid(2, "v2: the signature does not match");
  }
  if (input.substr(0, v2_signature.size()) != v2_signature) {
    return invalid(2, "v2: the signature does not match");
  }
  const std::uint8_t version = byte_at(input, 12) >> 4;
  const std::uint8_t command = byte_at(input, 12) & 0x0f;
  if (version != 2) {
    return invalid(2, "v2: the version is not 2");
  }
  if (command > 1) {
    return invalid(2, "v2: the command is neither LOCAL nor PROXY");
  }
  const std::size_t payload = u16_at(input, 14);
  if (payload > proxy_v2_max_payload) {
    return invalid(2, "v2: longer than 1024 bytes of addresses and TLVs");
  }
  if (input.size() < proxy_v2_fixed + payload) {
    return need_more(2);
  }
  ProxyHeader h;
  h.status = ProxyStatus::Complete;
  h.version = 2;
  h.length = proxy_v2_fixed + payload;
  if (command == 0) {
    return h; // LOCAL: the proxy's own connection (a health check); the addresses are ignored
  }
  return parse_v2_addresses(input, h);
}

} // namespace

ProxyHeader parse_proxy_header(std::string_view input) {
  if (input.empty()) {
    return need_more(0);
  }
  if (input[0] == v1_prefix[0]) {
    return starts_like(input, v1_prefix) ? parse_v1(input)
                                         : invalid(1, "not a PROXY header: expected \"PROXY \"");
  }
  if (input[0] == v2_signature[0]) {
    return parse_v2(input);
  }
  return invalid(0, "not a PROXY header (neither v1 nor v2)");
}

} // namespace backstop::smtp
