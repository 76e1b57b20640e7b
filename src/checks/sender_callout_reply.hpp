// sender_callout_reply: how a remote MX's words go into our own reply.
#pragma once

#include <string>
#include <string_view>

namespace backstop::checks {

// Printable ASCII only (control characters become one space, other bytes '?'), at most
// about 200 characters: a hostile MX can neither split nor fill our reply.
std::string quote_remote(std::string_view text);

} // namespace backstop::checks
