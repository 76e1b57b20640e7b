// blacklist_ptr: the client's forward-confirmed PTR name, for the allowlist of large
// senders' PTR suffixes. The reverse_dns check's facts when it ran at connect; otherwise
// (it is off, or DNS was in trouble then) looked up here, only for a listed client.
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

// wanted: the allowlist has PTR suffixes (else a name is of no use and nothing is asked).
asio::awaitable<PtrName> confirmed_ptr(const policy::SessionContext& context, bool wanted,
                                       dns::Resolver* resolver);

} // namespace backstop::checks
