// core_checks: the checks that come with the recipient and sender rules of [smtp], [verify]
// and [[domain]] rather than a [checks.<name>] section: where a recipient may go (relay
// domains, routing in local parts, a destination to deliver to), whether the primary would
// accept it (recipient verification, with the dictionary-attack guard), and whether the
// sender's domain can receive a bounce. app builds them; the pipeline runs them like any.
#pragma once

#include "metrics/counters.hpp"
#include "policy/check.hpp"
#include "policy/destinations.hpp"
#include "policy/pipeline.hpp"
#include "policy/recipient_verifier.hpp"
#include "policy/relay_domains.hpp"
#include "policy/sender_domain.hpp"

#include <chrono>
#include <memory>
#include <spdlog/logger.h>

namespace backstop::policy {

// Required, RCPT: relay_domains, sender_routing, destination (verdict check names).
class RecipientDomainCheck final : public Check {
public:
  RecipientDomainCheck(RelayDomains relay_domains, bool reject_sender_routing,
                       const Destinations* destinations)
      : relay_domains_(std::move(relay_domains)), reject_sender_routing_(reject_sender_routing),
        destinations_(destinations) {}
  std::string_view name() const override { return "recipient_domain"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }
  asio::awaitable<mail::Verdict> check(Stage stage, const SessionContext& context) const override;
  mail::Verdict decide(const mail::Address& recipient) const;

private:
  RelayDomains relay_domains_;
  bool reject_sender_routing_;
  const Destinations* destinations_; // null: every backed-up domain is routable
};

// A pipeline that only decides where recipients may go: tools, tests, and the time before
// the configuration's pipeline is built (no domains: every RCPT refused).
PipelineParts relay_only(const std::vector<std::string>& domains,
                         bool reject_sender_routing = true);

// Slowing, then dropping, a client that tries many unknown recipients (dictionary attack).
struct DictionaryGuard {
  std::size_t max_unknown_recipients = 5; // the one that reaches it gets 421 and the close
  std::chrono::milliseconds delay{1000};  // times (count - 1) before each further refusal
  std::chrono::milliseconds max_delay{10000};
};

// Required, RCPT: "recipient_verify" and its kin (see RecipientVerifier).
class RecipientVerification final : public Check {
public:
  RecipientVerification(std::shared_ptr<const RecipientVerifier> verifier, DictionaryGuard guard)
      : verifier_(std::move(verifier)), guard_(guard) {}
  std::string_view name() const override { return "recipient_verify"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }
  asio::awaitable<mail::Verdict> check(Stage stage, const SessionContext& context) const override;

private:
  mail::Verdict guard_unknown(const SessionContext& context, mail::Verdict verdict) const;

  std::shared_ptr<const RecipientVerifier> verifier_;
  DictionaryGuard guard_;
};

// Filter, MAIL and RCPT: the sender domain must be able to receive mail. When DNS cannot
// tell at MAIL, each RCPT decides by its domain's sender_domain_dns_trouble; a transaction
// that goes on to DATA with recipients taken so is counted there, once.
class SenderDomainStage final : public Check {
public:
  SenderDomainStage(std::shared_ptr<const SenderDomainCheck> check, SenderDnsTrouble trouble,
                    std::shared_ptr<spdlog::logger> log, metrics::Counters* counters)
      : check_(std::move(check)), trouble_(std::move(trouble)), log_(std::move(log)),
        counters_(counters) {}
  std::string_view name() const override { return "sender_domain"; }
  bool runs_at(Stage stage) const override {
    return stage == Stage::Mail || stage == Stage::Rcpt || stage == Stage::Data;
  }
  asio::awaitable<mail::Verdict> check(Stage stage, const SessionContext& context) const override;

private:
  asio::awaitable<mail::Verdict> at_mail(const SessionContext& context) const;
  mail::Verdict at_rcpt(const SessionContext& context) const;
  mail::Verdict at_data(const SessionContext& context) const;

  std::shared_ptr<const SenderDomainCheck> check_;
  SenderDnsTrouble trouble_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counters* counters_;
};

} // namespace backstop::policy
