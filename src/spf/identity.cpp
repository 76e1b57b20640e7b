// identity: the <domain> and <sender> of each identity (RFC 7208 2.3, 2.4).
#include "spf/identity.hpp"

namespace backstop::spf {

IdentityQuery mail_from_identity(std::string_view mail_from, std::string_view helo) {
  if (mail_from.empty()) {
    auto query = helo_identity(helo);
    return query;
  }
  const auto at = mail_from.rfind('@');
  const auto domain = at == std::string_view::npos ? mail_from : mail_from.substr(at + 1);
  return IdentityQuery{Identity::MailFrom, std::string(domain), std::string(mail_from)};
}

IdentityQuery helo_identity(std::string_view helo) {
  return IdentityQuery{Identity::Helo, std::string(helo), "postmaster@" + std::string(helo)};
}

} // namespace backstop::spf
