// dnsbl_zone: the pure parts of the DNSBL check: which name a zone is asked (RFC 5782:
// reversed octets or nibbles of the client, or a HELO name / sender domain for an RHSBL),
// which answers count as a listing, and the weighted sum over the zones. A listing answer
// outside 127.0.0.0/8 is never a listing (a broken or hijacked zone, or a resolver that
// answers every name); the caller logs it.
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::checks::dnsbl {

enum class ZoneType { Ip, Helo, Sender };

// Return codes as IPv4 ranges, both ends included.
struct CodeRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  bool contains(std::uint32_t code) const { return first <= code && code <= last; }
};

// "127.0.0.2", "127.0.0.2-127.0.0.11" or "127.0.0.0/24", inside 127.0.0.0/8; nullopt and
// error set otherwise.
std::optional<CodeRange> parse_code_range(std::string_view text, std::string& error);
// Any 127.0.0.0/8 address but 127.0.0.0, 127.0.0.1 and 127.255.255.0/24 (Spamhaus-style
// "query refused" codes, not listings).
std::vector<CodeRange> default_codes();

struct Zone {
  std::string name; // normalised: lower case, no trailing dot
  ZoneType type = ZoneType::Ip;
  std::vector<CodeRange> codes = default_codes();
  double weight = 1; // negative: an allowlist zone (DNSWL) that lowers the sum
};

// What a zone is asked about; empty strings are not known (yet).
struct Subject {
  std::optional<asio::ip::address> client;
  std::string helo;
  std::string sender_domain;
};

// The name to look up for zone, or nullopt when its subject is unknown or cannot be asked
// (an address-literal HELO, a null sender, a name too long for DNS).
std::optional<std::string> query_name(const Zone& zone, const Subject& subject);

// One zone's A answer sorted out: listed when an address matches its codes.
struct Classified {
  bool listed = false;
  std::vector<asio::ip::address> matched;
  std::vector<asio::ip::address> outside_loopback; // ignored, to be logged
};
Classified classify(const Zone& zone, const std::vector<asio::ip::address>& answer);

// TXT from a zone made safe for a reply line: printable ASCII only, at most max_length.
std::string reply_safe(std::string_view text, std::size_t max_length = 200);

} // namespace backstop::checks::dnsbl
