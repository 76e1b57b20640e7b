// spf_trust: trusted hops of a backup chain (seed 002). A client that is itself a listed MX
// host of the recipient's domain, or one of the configured peer backstops, relays mail for
// that domain as part of its job; its address is not the sender's, so SPF must not fail it.
#pragma once

#include "dns/resolver.hpp"
#include "mail/cidr.hpp"

#include <asio/awaitable.hpp>
#include <string>
#include <vector>

namespace backstop::checks {

struct SpfTrust {
  enum Kind { Trusted, NotTrusted, Unknown } kind = NotTrusted; // Unknown: DNS trouble
  std::string why; // "192.0.2.7 is mx2.example.org, an MX host of example.org"
};

// Whether client may relay for domain without an SPF check: in networks, or (when mx_hosts)
// one of the addresses of domain's MX hosts.
asio::awaitable<SpfTrust> spf_trust(dns::Resolver* resolver, std::vector<mail::Cidr> networks,
                                    bool mx_hosts, std::string domain, asio::ip::address client);

} // namespace backstop::checks
