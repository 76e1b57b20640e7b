// identity: which identity is checked and with which <domain> and <sender> (RFC 7208 2.3,
// 2.4): MAIL FROM, or for the null reverse-path the HELO name as postmaster@helo.
#pragma once

#include <string>
#include <string_view>

namespace backstop::spf {

enum class Identity { MailFrom, Helo };

// "mailfrom" or "helo", as in the Received-SPF "identity" key (9.1).
constexpr std::string_view identity_name(Identity identity) {
  return identity == Identity::MailFrom ? "mailfrom" : "helo";
}

struct IdentityQuery {
  Identity identity = Identity::MailFrom;
  std::string domain; // <domain> of check_host()
  std::string sender; // <sender>: local@domain
};

// mail_from is the reverse-path as "local@domain", "" for the null sender.
IdentityQuery mail_from_identity(std::string_view mail_from, std::string_view helo);
IdentityQuery helo_identity(std::string_view helo);

} // namespace backstop::spf
