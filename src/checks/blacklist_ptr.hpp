// blacklist_ptr: the client's forward-confirmed PTR name, for the allowlist of large
// senders' PTR suffixes. The reverse_dns check's facts when it ran at connect; otherwise
// (it is off, or DNS was in trouble then) looked up here, only for a listed client. Also
// what the offender store's facade asks for an offense whose recorder did not know the name.
#pragma once

#include "dns/resolver.hpp"
#include "policy/session_context.hpp"

#include <asio/awaitable.hpp>
#include <string>

namespace backstop::checks {

struct PtrName {
  std::string name;     // forward-confirmed; "" when the client has none
  bool trouble = false; // DNS could not tell
};

// Asks DNS: PTR, then the names' addresses.
asio::awaitable<PtrName> look_up_confirmed_ptr(dns::Resolver* resolver, asio::ip::address client);
// The same from an address's text, for the offender store's facade (app wires it): "" when
// there is no confirmed name, DNS cannot tell or the text is not an address.
asio::awaitable<std::string> confirmed_ptr_name(dns::Resolver* resolver, std::string address);

// wanted: the allowlist has PTR suffixes (else a name is of no use and nothing is asked).
asio::awaitable<PtrName> confirmed_ptr(const policy::SessionContext& context, bool wanted,
                                       dns::Resolver* resolver);

} // namespace backstop::checks
