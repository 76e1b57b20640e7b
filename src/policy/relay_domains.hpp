// relay_domains: decides "relay allowed?": a recipient is accepted only when its domain is one
// of the backed-up domains (exact match after normalisation). Everything else, including
// address literals and every routing trick left in the local part, gets 550 5.7.1: what we
// accept is delivered only to that domain's primary, never interpreted further.
#pragma once

#include "mail/address.hpp"
#include "mail/verdict.hpp"

#include <set>
#include <string>
#include <vector>

namespace backstop::policy {

class RelayDomains {
public:
  explicit RelayDomains(const std::vector<std::string>& domains);
  mail::Verdict check(const mail::Address& recipient) const;
  bool contains(const std::string& normalized_domain) const;

private:
  std::set<std::string, std::less<>> domains_;
};

} // namespace backstop::policy
