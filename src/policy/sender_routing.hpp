// sender_routing: a recipient of a backed-up domain whose local part carries routing
// ("user%other.example@", "other.example!user@", "\"user@other.example\"@") is refused
// with 550 5.7.1. A primary that honours the percent hack or bang paths (sendmail, Exim
// with percent_hack_domains) would relay such mail on to the other domain, making this
// backup MX an open relay by proxy. Like Postfix's reject_unauth_destination with
// allow_untrusted_routing = no, the local part is read unquoted ('@' inside quotes counts)
// and the primary's own settings are not guessed. Source routes never get here: the parser
// drops them (RFC 5321 4.1.1.3), so the primary only ever sees the mailbox.
#pragma once

#include "mail/address.hpp"
#include "mail/verdict.hpp"

#include <optional>
#include <string_view>

namespace backstop::policy {

// The first routing operator ('%', '!' or '@') in an (unquoted) local part, or nullopt.
std::optional<char> routing_operator(std::string_view local);

// Accept, or Reject with 550 5.7.1 naming the operator; check name "sender_routing".
mail::Verdict check_sender_routing(const mail::Address& recipient);

} // namespace backstop::policy
