// pipeline: the policy checks a session asks at each SMTP stage, in order; the first verdict
// that is not Accept wins. Checks see facts about the connection, never a socket. Later
// checks (recipient verification, DNSBL, SPF, greylisting) are added here as members.
#pragma once

#include "mail/address.hpp"
#include "mail/verdict.hpp"
#include "policy/relay_domains.hpp"

#include <memory>
#include <string>

namespace backstop::policy {

struct ConnectionFacts {
  std::string client_ip;
  std::string helo;
  bool tls = false;
};

struct RcptQuery {
  const ConnectionFacts& connection;
  const mail::Address& sender;
  const mail::Address& recipient;
};

class Pipeline {
public:
  explicit Pipeline(RelayDomains relay_domains) : relay_domains_(std::move(relay_domains)) {}

  mail::Verdict check_rcpt(const RcptQuery& query) const;
  const RelayDomains& relay_domains() const { return relay_domains_; }

private:
  RelayDomains relay_domains_;
};

} // namespace backstop::policy
