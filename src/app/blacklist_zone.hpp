// blacklist_zone: the blacklist as a DNSBL zone that a real DNS server loads. rbldnsd's
// ip4set (IPv4) and ip6trie (IPv6) data files, and a BIND master file (reversed octets,
// IPv6 as nibbles, A 127.0.0.2 and TXT with the reason, SOA and NS) that nsd and BIND load.
#pragma once

#include "state/offender_store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace backstop::app {

struct ZoneOptions {
  std::string zone;        // "bl.example.org", no trailing dot
  std::string nameserver;  // the NS (and SOA primary) name
  std::string hostmaster;  // SOA RNAME as a domain name: "hostmaster.example.org"
  std::int64_t serial = 0; // SOA serial; rbldnsd: 0 = the file's time
  std::int64_t ttl = 300;
};

// The DNSBL name of an address under zone: "7.2.0.192.bl.example" or 32 nibbles; nullopt
// for text that is not an address.
std::optional<std::string> dnsbl_name(const std::string& address, const std::string& zone);

enum class IpFamily { V4, V6 };
// rbldnsd data (ip4set for V4, ip6trie for V6) with the listings of that family.
std::string rbldnsd_zone(const std::vector<state::Listing>& listings, IpFamily family,
                         const ZoneOptions& options);
std::string bind_zone(const std::vector<state::Listing>& listings, const ZoneOptions& options);

} // namespace backstop::app
