// recipient_verifier: "would the primary accept this recipient?", asked at RCPT time so that
// backstop never accepts mail it would later have to bounce (backscatter). Sources, in
// order: the static list, the cache, a live callout. When nothing can tell (primary down,
// not cached), the domain's `unverified` policy decides: accept (the backup MX stands in),
// defer (450: the sender keeps the message), or accept only from a verified sender, whose
// bounce would reach the real sender. A known-valid address is always accepted.
#pragma once

#include "mail/address.hpp"
#include "mail/verdict.hpp"
#include "metrics/counters.hpp"
#include "policy/recipient_list.hpp"
#include "policy/recipient_prober.hpp"
#include "policy/unverified_policy.hpp"
#include "policy/verify_cache.hpp"

#include <asio.hpp>
#include <map>
#include <memory>
#include <spdlog/logger.h>
#include <string>

namespace backstop::policy {

struct DomainVerification {
  bool callout = true;                                    // ask the primary
  UnverifiedPolicy unverified = UnverifiedPolicy::Accept; // when nothing can tell
  std::shared_ptr<const RecipientList> list;
};

class RecipientVerifier {
public:
  RecipientVerifier(std::map<std::string, DomainVerification, std::less<>> domains,
                    VerifyCache& cache, RecipientProber& prober,
                    std::shared_ptr<spdlog::logger> log, metrics::Counters* counters = nullptr)
      : domains_(std::move(domains)), cache_(cache), prober_(prober), log_(std::move(log)),
        counters_(counters) {}

  // sender_verified: the session knows the sender is real (facts::sender_verified).
  asio::awaitable<mail::Verdict> check(const mail::Address& recipient, bool sender_verified) const;
  // Check names of the verdicts that mean "no such user" (the dictionary-attack count).
  static bool is_unknown_user(const mail::Verdict& verdict);

private:
  asio::awaitable<mail::Verdict> ask_primary(const mail::Address& recipient, const std::string& key,
                                             const DomainVerification& domain,
                                             bool sender_verified) const;
  mail::Verdict cannot_tell(const std::string& why, UnverifiedPolicy policy,
                            bool sender_verified) const;
  void refresh_in_background(const mail::Address& recipient, const std::string& key,
                             asio::any_io_executor executor) const;

  std::map<std::string, DomainVerification, std::less<>> domains_;
  VerifyCache& cache_;
  RecipientProber& prober_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counters* counters_;
};

} // namespace backstop::policy
