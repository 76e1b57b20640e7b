// blacklist_zone: listings as zone text. A TXT string holds at most 255 bytes and rbldnsd
// substitutes "$" in its templates: reasons are trimmed and cleaned for both.
#include "app/blacklist_zone.hpp"

#include "mail/ip_address.hpp"

#include <asio/ip/address.hpp>

namespace backstop::app {

namespace {

constexpr std::size_t max_txt = 255;

std::optional<asio::ip::address> parse(const std::string& text) {
  std::error_code ec;
  auto a = asio::ip::make_address(text, ec);
  if (ec) {
    return std::nullopt;
  }
  return mail::unmapped(a);
}

// Printable ASCII without the characters the formats treat specially.
std::string clean_reason(const std::string& reason, const char* special) {
  std::string out;
  for (char c : reason) {
    const bool printable = c >= 0x20 && c < 0x7f;
    out += printable && std::string_view(special).find(c) == std::string_view::npos ? c : ' ';
  }
  if (out.size() > max_txt) {
    out.resize(max_txt);
  }
  return out.empty() ? "listed" : out;
}

std::string txt_of(const state::Listing& l) { return "Listed by backstop: " + l.reason; }

std::string reversed_v4(const asio::ip::address_v4& a) {
  const auto b = a.to_bytes();
  return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
         std::to_string(b[0]);
}

std::string nibbles_v6(const asio::ip::address_v6& a) {
  static const char hex[] = "0123456789abcdef";
  const auto b = a.to_bytes();
  std::string out;
  for (auto it = b.rbegin(); it != b.rend(); ++it) {
    out += hex[*it & 0xf];
    out += '.';
    out += hex[*it >> 4];
    out += '.';
  }
  out.pop_back();
  return out;
}

} // namespace

std::optional<std::string> dnsbl_name(const std::string& address, const std::string& zone) {
  auto a = parse(address);
  if (!a) {
    return std::nullopt;
  }
  return (a->is_v4() ? reversed_v4(a->to_v4()) : nibbles_v6(a->to_v6())) + "." + zone;
}

std::string rbldnsd_zone(const std::vector<state::Listing>& listings, IpFamily family,
                         const ZoneOptions& o) {
  std::string out = "# backstop blacklist (" +
                    std::string(family == IpFamily::V4 ? "ip4set" : "ip6trie") + ") for " + o.zone +
                    "\n";
  out += "$SOA " + std::to_string(o.ttl) + " " + o.nameserver + ". " + o.hostmaster + ". " +
         std::to_string(o.serial) + " 600 300 86400 " + std::to_string(o.ttl) + "\n";
  out += "$NS " + std::to_string(o.ttl) + " " + o.nameserver + ".\n";
  out += "$TTL " + std::to_string(o.ttl) + "\n";
  out += ":127.0.0.2:Listed by backstop\n";
  for (const auto& l : listings) {
    auto a = parse(l.address);
    if (!a || a->is_v4() != (family == IpFamily::V4)) {
      continue;
    }
    out += a->to_string() + " :127.0.0.2:" + clean_reason(txt_of(l), "$#;") + "\n";
  }
  return out;
}

std::string bind_zone(const std::vector<state::Listing>& listings, const ZoneOptions& o) {
  const std::string ttl = std::to_string(o.ttl);
  std::string out = "; backstop blacklist for " + o.zone + "\n";
  out += "$ORIGIN " + o.zone + ".\n$TTL " + ttl + "\n";
  out += "@ IN SOA " + o.nameserver + ". " + o.hostmaster + ". " + std::to_string(o.serial) +
         " 600 300 86400 " + ttl + "\n";
  out += "@ IN NS " + o.nameserver + ".\n";
  for (const auto& l : listings) {
    auto a = parse(l.address);
    if (!a) {
      continue;
    }
    const std::string owner = a->is_v4() ? reversed_v4(a->to_v4()) : nibbles_v6(a->to_v6());
    out += owner + " IN A 127.0.0.2\n";
    out += owner + " IN TXT \"" + clean_reason(txt_of(l), "\"\\;") + "\"\n";
  }
  return out;
}

} // namespace backstop::app
