// command: the little a trap reads from a command line: the verb, and the domain of a MAIL
// or RCPT path. Lenient on purpose (bots send junk); pure functions.
#pragma once

#include <string>
#include <string_view>

namespace backstop::trap {

enum class Verb { Helo, Ehlo, Mail, Rcpt, Rset, Noop, Quit, Other };

Verb verb_of(std::string_view line);
// What follows the verb and its spaces: "FROM:<a@b.example>" for MAIL.
std::string_view argument_of(std::string_view line);
// The domain of "FROM:<a@b.example> SIZE=1" / "TO:<u@Example.ORG.>", lower case, without a
// trailing dot; "" for the null sender, a path without a domain or junk.
std::string domain_of_path(std::string_view argument);

} // namespace backstop::trap
