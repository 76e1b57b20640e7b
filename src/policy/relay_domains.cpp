// relay_domains: the anti-relay rule, one exact set lookup.
#include "policy/relay_domains.hpp"

#include "mail/replies.hpp"

namespace backstop::policy {

RelayDomains::RelayDomains(const std::vector<std::string>& domains) {
  for (const auto& d : domains) {
    domains_.insert(mail::normalize_domain(d));
  }
}

bool RelayDomains::contains(const std::string& normalized_domain) const {
  return domains_.count(normalized_domain) != 0;
}

mail::Verdict RelayDomains::check(const mail::Address& recipient) const {
  // An address literal ("[192.0.2.1]") never matches: we back up domains, not hosts.
  if (!recipient.domain.empty() && recipient.domain.front() != '[' && contains(recipient.domain)) {
    return mail::Verdict::accept("relay_domains");
  }
  return mail::Verdict::decide(mail::Decision::Reject, mail::replies::relay_denied, "relay_domains",
                               "domain \"" + recipient.domain + "\" is not a backed-up domain");
}

} // namespace backstop::policy
