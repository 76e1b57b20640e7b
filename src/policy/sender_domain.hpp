// sender_domain: the MAIL FROM domain must be able to receive mail (an MX, or A/AAAA when it
// has no MX, and not a null MX, RFC 7505), or a bounce could never be delivered. DNS
// trouble defers (451), it never rejects. The null sender and address literals pass.
// Special-use names (localhost, .invalid, .onion) are refused without asking DNS.
#pragma once

#include "dns/resolver.hpp"
#include "mail/address.hpp"
#include "mail/verdict.hpp"

#include <asio.hpp>
#include <functional>
#include <set>
#include <string>
#include <string_view>

namespace backstop::policy {

// sender_domain_dns_trouble: per backed-up domain, whether mail whose sender domain DNS
// could not check is taken ("accept") or deferred ("defer", the default). A primary should
// defer; a backup MX that defers turns away all mail exactly while the resolver is down.
struct SenderDnsTrouble {
  std::set<std::string, std::less<>> accepting; // normalised names of domains that accept

  bool any_accepts() const { return !accepting.empty(); }
  bool accepts(std::string_view domain) const { return accepting.contains(domain); }
};

class SenderDomainCheck {
public:
  // resolver may be awaited from any loop and answers on the asker's loop (as the checks'
  // resolver does): a cached answer costs no thread hop.
  explicit SenderDomainCheck(dns::Resolver& resolver) : resolver_(resolver) {}

  asio::awaitable<mail::Verdict> check(const mail::Address& sender) const;

private:
  dns::Resolver& resolver_;
};

} // namespace backstop::policy
