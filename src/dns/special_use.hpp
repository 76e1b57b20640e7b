// special_use: domain names that can never be a mail domain on the Internet, so no DNS
// question is ever sent for them: "localhost" and "invalid" (RFC 6761 6.3, 6.4; RFC 2606)
// and "onion" (RFC 7686: MUST NOT be looked up in the DNS), each with every name below it.
// ".local" (mDNS, RFC 6762) is not among them: some sites serve it from their own DNS, so
// DNS decides. ".test" and ".example" are not either: they are real configured domains in
// test rigs.
#pragma once

#include <optional>
#include <string_view>

namespace backstop::dns {

// The special-use top-level name that `domain` is or lies under ("localhost", "invalid",
// "onion"), or nullopt. Case and one trailing dot are ignored.
std::optional<std::string_view> special_use_name(std::string_view domain);

} // namespace backstop::dns
