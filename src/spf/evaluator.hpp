// evaluator: check_host() of RFC 7208 (section 4) as a coroutine that awaits a dns::Resolver,
// so it never blocks a loop. One Evaluator serves any number of evaluations at once; each
// call keeps its own counters for the limits of 4.6.4 (10 terms that ask DNS, 2 void
// lookups, 10 names per MX or PTR answer) and an overall deadline.
#pragma once

#include "dns/resolver.hpp"
#include "mail/clock.hpp"
#include "spf/result.hpp"

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <string>

namespace backstop::spf {

struct EvaluatorOptions {
  std::string receiver = "unknown"; // %{r}: our host name
  // The explanation of a "fail" whose domain gives none (exp=), a macro string (6.2).
  std::string default_explanation = "%{i} is not one of %{d}'s designated mail servers";
  unsigned max_dns_terms = 10;
  unsigned max_void_lookups = 2;
  unsigned max_names = 10; // MX names and PTR names looked at per term
  // RFC 7208 4.6.4 asks for at least 20 s; past it, the result is temperror.
  std::chrono::milliseconds deadline{20000};
  const mail::Clock* clock = nullptr; // %{t}; the system clock when null
};

class Evaluator {
public:
  Evaluator(dns::Resolver& resolver, EvaluatorOptions options);

  // check_host(<ip>, <domain>, <sender>, helo) (4.1). sender is local@domain as given; an
  // empty local part is read as "postmaster" (4.3). domain is normally sender's domain.
  asio::awaitable<Outcome> check_host(asio::ip::address ip, std::string domain, std::string sender,
                                      std::string helo) const;

  const EvaluatorOptions& options() const { return options_; }
  dns::Resolver& resolver() const { return resolver_; }

private:
  dns::Resolver& resolver_;
  EvaluatorOptions options_;
};

} // namespace backstop::spf
