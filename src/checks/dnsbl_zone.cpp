// dnsbl_zone: code ranges, query names and the 127/8 rule.
#include "checks/dnsbl_zone.hpp"

#include "dns/reverse_name.hpp"
#include "mail/address.hpp"

#include <algorithm>
#include <charconv>

namespace backstop::checks::dnsbl {

namespace {

constexpr std::uint32_t loopback_net = 0x7F000000u; // 127.0.0.0/8
constexpr std::uint32_t loopback_mask = 0xFF000000u;

std::optional<std::uint32_t> parse_v4(std::string_view text) {
  std::error_code ec;
  const auto address = asio::ip::make_address_v4(std::string(text), ec);
  if (ec) {
    return std::nullopt;
  }
  return address.to_uint();
}

bool in_loopback(std::uint32_t address) { return (address & loopback_mask) == loopback_net; }

// Letters, digits, '-' and '_' in labels of 1 to 63 bytes (RFC 1035 2.3.4; '_' is common in
// real names and harmless in a query); at least two labels.
bool askable_name(std::string_view name) {
  if (name.empty() || name.find('.') == std::string_view::npos) {
    return false;
  }
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) {
      return false;
    }
  }
  return label > 0;
}

} // namespace

std::optional<CodeRange> parse_code_range(std::string_view text, std::string& error) {
  std::optional<CodeRange> range;
  if (const auto dash = text.find('-'); dash != std::string_view::npos) {
    const auto first = parse_v4(text.substr(0, dash));
    const auto last = parse_v4(text.substr(dash + 1));
    if (first && last && *first <= *last) {
      range = CodeRange{*first, *last};
    }
  } else if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    const auto base = parse_v4(text.substr(0, slash));
    const auto bits_text = text.substr(slash + 1);
    unsigned bits = 33;
    const auto [end, ec] =
        std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (base && ec == std::errc{} && end == bits_text.data() + bits_text.size() && bits <= 32) {
      const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
      range = CodeRange{*base & mask, (*base & mask) | ~mask};
    }
  } else if (const auto single = parse_v4(text)) {
    range = CodeRange{*single, *single};
  }
  if (!range) {
    error = "\"" + std::string(text) +
            "\" is not an address, a range \"first-last\" or a network \"address/bits\"";
    return std::nullopt;
  }
  if (!in_loopback(range->first) || !in_loopback(range->last)) {
    error = "\"" + std::string(text) + "\" lies outside 127.0.0.0/8, where listings are";
    return std::nullopt;
  }
  return range;
}

std::vector<CodeRange> default_codes() {
  return {CodeRange{0x7F000002u, 0x7FFFFEFFu}}; // 127.0.0.2 - 127.255.254.255
}

std::optional<std::string> query_name(const Zone& zone, const Subject& subject) {
  std::string prefix;
  switch (zone.type) {
  case ZoneType::Ip:
    if (!subject.client) {
      return std::nullopt;
    }
    prefix = dns::reversed_labels(*subject.client);
    break;
  case ZoneType::Helo:
    prefix = mail::normalize_domain(subject.helo);
    break;
  case ZoneType::Sender:
    prefix = mail::normalize_domain(subject.sender_domain);
    break;
  }
  if (!askable_name(prefix) && zone.type != ZoneType::Ip) {
    return std::nullopt; // address literals, bare words, junk: nothing an RHSBL could list
  }
  std::string name = prefix + "." + zone.name;
  if (name.size() > 253) {
    return std::nullopt;
  }
  return name;
}

Classified classify(const Zone& zone, const std::vector<asio::ip::address>& answer) {
  Classified out;
  for (const auto& address : answer) {
    if (!address.is_v4() || !in_loopback(address.to_v4().to_uint())) {
      out.outside_loopback.push_back(address);
      continue;
    }
    const auto code = address.to_v4().to_uint();
    if (std::any_of(zone.codes.begin(), zone.codes.end(),
                    [code](const CodeRange& r) { return r.contains(code); })) {
      out.matched.push_back(address);
    }
  }
  out.listed = !out.matched.empty();
  return out;
}

std::string reply_safe(std::string_view text, std::size_t max_length) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= max_length) {
      break;
    }
    out += (c >= 0x20 && c <= 0x7E) ? c : ' ';
  }
  return out;
}

} // namespace backstop::checks::dnsbl
