// peer_match: is a client one of the peer backstops of [peers]? By address or network at
// once; by name through DNS (the names' A and AAAA records, from the resolver's cache after
// the first time). A name that cannot be looked up does not match: the client is then
// checked as any other (at worst a 4xx it retries).
#pragma once

#include "dns/resolver.hpp"
#include "mail/peer_hosts.hpp"

#include <asio/awaitable.hpp>
#include <string>

namespace backstop::checks {

// "" when client is no peer; else why it is one ("127.0.0.3 is peer mx3.example.net").
asio::awaitable<std::string> peer_match(dns::Resolver* resolver, const mail::PeerHosts& peers,
                                        asio::ip::address client);

} // namespace backstop::checks
