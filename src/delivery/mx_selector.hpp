// mx_selector: "which MX may receive?" (RFC 5321 5.1, RFC 7505). Pure: takes the DNS answers
// already fetched and decides. A backup MX delivers only to hosts MORE preferred than
// itself: every MX at or below the best preference that names this host (by name or
// address) is dropped; if nothing is left, this host is the best MX and delivering would be
// a mail loop. Implicit MX (the domain's own address) only when there are no MX records;
// MX records that do not resolve never fall back to the domain's address. A peer backstop
// ([peers], by name or address) is a next hop only when it is more preferred than this host:
// with this host not among the MX hosts at all, peers are dropped too (no ping-pong).
#pragma once

#include "dns/resolver.hpp"
#include "mail/peer_hosts.hpp"

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace backstop::delivery {

struct LocalIdentity {
  std::set<std::string> names;           // hostname and local_names, lower case
  std::set<asio::ip::address> addresses; // local_addresses, listen and interface addresses
  bool any_loopback = false; // a wildcard listener answers on all of 127.0.0.0/8 and ::1
  std::vector<asio::ip::tcp::endpoint> listeners; // smtp.listen, wildcards included
  mail::PeerHosts peers;                          // the other backstop hosts ([peers])
  // A configured primary may share our address on another port, but never be our listener.
  bool is_listener(const asio::ip::tcp::endpoint& endpoint) const;
  bool is_local(const std::string& host, const std::vector<asio::ip::address>& addrs) const;
  bool is_local(const asio::ip::address& address) const;
  bool is_peer(const std::string& host, const std::vector<asio::ip::address>& addrs) const;
};

struct MxTarget {
  std::string host;
  unsigned preference = 0;
  std::vector<asio::ip::address> addresses;
};

struct MxSelection {
  std::vector<MxTarget> targets; // in the order to try
  std::string error;             // set when targets is empty
  bool permanent = false;        // bounce rather than retry
  bool mail_loop = false;        // this host is the best MX: log loudly
};

struct MxInput {
  std::string domain;
  dns::MxAnswer mx;
  std::map<std::string, dns::AddressAnswer> exchange_addresses; // by exchange name
  dns::AddressAnswer domain_addresses; // for the implicit MX; used only without MX records
};

MxSelection select_mx(const MxInput& input, const LocalIdentity& self, std::mt19937& random);

} // namespace backstop::delivery
