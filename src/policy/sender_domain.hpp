// sender_domain: the MAIL FROM domain must be able to receive mail (an MX, or A/AAAA when it
// has no MX, and not a null MX, RFC 7505), or a bounce could never be delivered. DNS
// trouble defers (451), it never rejects. The null sender and address literals pass.
#pragma once

#include "dns/resolver.hpp"
#include "mail/address.hpp"
#include "mail/verdict.hpp"

#include <asio.hpp>

namespace backstop::policy {

class SenderDomainCheck {
public:
  // The resolver lives on resolver_executor's loop; lookups are run there.
  SenderDomainCheck(dns::Resolver& resolver, asio::any_io_executor resolver_executor)
      : resolver_(resolver), executor_(std::move(resolver_executor)) {}

  asio::awaitable<mail::Verdict> check(const mail::Address& sender) const;

private:
  dns::Resolver& resolver_;
  asio::any_io_executor executor_;
};

} // namespace backstop::policy
