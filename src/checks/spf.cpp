// spf: SPF (RFC 7208) for a backup MX, decided at RCPT so that the recipient's domain is
// known (seed 002). MAIL starts the one evaluation of the transaction (the MAIL FROM
// identity, or HELO's for the null sender, 2.4); each RCPT awaits it and decides for its
// own recipient: a trusted hop (trusted_networks or a [peers] host for every domain, a listed
// MX host of the recipient's domain for that domain) relays and is not failed; otherwise the
// result's policy for that domain applies. Accepted mail gets one Received-SPF header (9.1).
//
//   [checks.spf]
//   enabled = true
//   trusted_networks = ["198.51.100.25/32"]  # peer backstops
//   fail = "reject"         # accept | reject | defer, for each result but pass
//   softfail_score = 1.0    # <result>_score: added when the result is accepted
//   [checks.spf.domain."example.org"]
//   fail = "defer"
#include "checks/peer_match.hpp"
#include "checks/spf_policy.hpp"
#include "checks/spf_results.hpp"
#include "checks/spf_trust.hpp"
#include "mail/replies.hpp"
#include "policy/check_registry.hpp"
#include "spf/header.hpp"
#include "spf/macro.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

namespace backstop::checks {

namespace {

using policy::Stage;
namespace mr = mail::replies;

constexpr const char* check_name = "spf";
constexpr std::size_t max_quoted = 200;

struct SpfSettings {
  std::vector<mail::Cidr> trusted_networks;
  mail::PeerHosts peers; // [peers]: trusted hops for every recipient domain
  bool trust_mx_hosts = true;
  SpfPolicies policies;
  std::string receiver;
};

// Text from the sender's DNS, safe in our reply: printable ASCII, one line, bounded.
std::string quotable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, max_quoted)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 32 && u < 127) ? c : ' ';
  }
  return out;
}

std::string mail_from_of(const policy::SessionContext& context) {
  return context.sender.is_null() ? std::string{}
                                  : context.sender.local + "@" + context.sender.domain;
}

SpfQuestion question_of(const policy::SessionContext& context) {
  return SpfQuestion{context.session_id, context.client.address, context.helo,
                     mail_from_of(context)};
}

bool has_spf_header(const policy::SessionContext& context) {
  for (const auto& header : context.headers) {
    if (header.rfind("Received-SPF:", 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string_view fact_key(spf::Identity identity) {
  return identity == spf::Identity::MailFrom ? policy::facts::spf_mfrom : policy::facts::spf_helo;
}

// Warms the resolver with the recipient domain's MX hosts while the evaluation runs.
asio::awaitable<void> warm_trust(dns::Resolver* resolver, std::string domain,
                                 asio::ip::address client) {
  co_await spf_trust(resolver, {}, true, std::move(domain), client);
}

class SpfCheck final : public policy::Check {
public:
  SpfCheck(SpfSettings settings, dns::Resolver* resolver, std::shared_ptr<SpfResults> results)
      : settings_(std::move(settings)), resolver_(resolver), results_(std::move(results)) {}

  std::string_view name() const override { return check_name; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }

  void prefetch(Stage stage, const policy::SessionContext& context) const override {
    if ((stage != Stage::Mail && stage != Stage::Rcpt) || trusted_network(context)) {
      return;
    }
    const auto known = results_->start(question_of(context), context.executor);
    // A pass needs no trust decision: the MX hosts are looked up only when it may come to it.
    if (stage == Stage::Rcpt && settings_.trust_mx_hosts && !context.recipient.domain.empty() &&
        known != spf::Result::Pass) {
      asio::co_spawn(context.executor,
                     warm_trust(resolver_, context.recipient.domain, context.client.address),
                     asio::detached);
    }
  }

  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    const auto identity = spf::mail_from_identity(mail_from_of(context), context.helo);
    if (trusted_network(context)) {
      co_return trusted(context, identity, context.client.ip + " is a trusted peer");
    }
    if (!settings_.peers.names.empty()) {
      const auto peer = co_await peer_match(resolver_, settings_.peers, context.client.address);
      if (!peer.empty()) {
        co_return trusted(context, identity, peer);
      }
    }
    const auto answer = co_await results_->answer(question_of(context), context.executor);
    if (answer.outcome.result == spf::Result::Pass) {
      co_return decide(context, answer, SpfTrust{});
    }
    SpfTrust trust;
    if (settings_.trust_mx_hosts) {
      trust =
          co_await spf_trust(resolver_, {}, true, context.recipient.domain, context.client.address);
    }
    if (trust.kind == SpfTrust::Trusted) {
      co_return trusted(context, answer.identity, trust.why);
    }
    co_return decide(context, answer, trust);
  }

private:
  bool trusted_network(const policy::SessionContext& context) const {
    return mail::any_contains(settings_.trusted_networks, context.client.ip) ||
           settings_.peers.has_address(context.client.ip);
  }

  spf::HeaderFacts header_facts(const policy::SessionContext& context,
                                const spf::IdentityQuery& identity) const {
    spf::HeaderFacts f;
    f.identity = identity.identity;
    f.client_ip = context.client.ip;
    f.envelope_from = mail_from_of(context);
    f.helo = context.helo;
    f.receiver = settings_.receiver;
    f.sender = identity.sender;
    return f;
  }

  mail::Verdict trusted(const policy::SessionContext& context, const spf::IdentityQuery& identity,
                        const std::string& why) const {
    auto v = mail::Verdict::accept(check_name, "trusted hop: " + why);
    v.facts.push_back({std::string(fact_key(identity.identity)), "none (trusted hop)"});
    if (!has_spf_header(context)) {
      auto facts = header_facts(context, identity);
      facts.comment = settings_.receiver + ": " + why + ", a trusted hop; SPF not checked";
      v.headers.push_back(spf::received_spf(spf::Outcome{}, facts));
    }
    return v;
  }

  mail::Verdict decide(const policy::SessionContext& context, const SpfAnswer& answer,
                       const SpfTrust& trust) const {
    const auto& outcome = answer.outcome;
    const auto& policy = settings_.policies.for_domain(context.recipient.domain)[outcome.result];
    const std::string result(spf::result_name(outcome.result));
    const std::string reason = "SPF " + result + " for " + answer.identity.sender + " from " +
                               context.client.ip + ": " + outcome.reason;
    mail::Verdict v;
    if (policy.action == SpfAction::Reject && trust.kind == SpfTrust::Unknown) {
      // It might be a trusted hop: not sure, so 4xx (the client retries).
      v = mail::Verdict::decide(mail::Decision::Defer, mr::spf_temperror, check_name,
                                reason + "; " + trust.why);
    } else if (policy.action == SpfAction::Reject) {
      v = mail::Verdict::decide(mail::Decision::Reject, reject_reply(outcome), check_name, reason);
    } else if (policy.action == SpfAction::Defer) {
      const auto& reply =
          outcome.result == spf::Result::TempError ? mr::spf_temperror : mr::spf_deferred;
      v = mail::Verdict::decide(mail::Decision::Defer, reply, check_name, reason);
    } else {
      v = mail::Verdict::scored(check_name, policy.score, reason);
      if (!has_spf_header(context)) {
        v.headers.push_back(spf::received_spf(outcome, header_facts(context, answer.identity)));
      }
    }
    v.facts.push_back({std::string(fact_key(answer.identity.identity)), result});
    if (outcome.result == spf::Result::Pass &&
        answer.identity.identity == spf::Identity::MailFrom) {
      v.facts.push_back({std::string(policy::facts::sender_verified), "spf"});
    }
    return v;
  }

  static mail::Reply reject_reply(const spf::Outcome& outcome) {
    if (outcome.result == spf::Result::PermError) {
      return mr::spf_permerror.with_text(mr::spf_permerror.text + ": " + quotable(outcome.reason));
    }
    if (outcome.result == spf::Result::Fail) {
      return mr::spf_fail.with_text(mr::spf_fail.text + ": " + quotable(outcome.explanation));
    }
    return mr::spf_fail.with_text(mr::spf_fail.text + " (" +
                                  std::string(spf::result_name(outcome.result)) + ")");
  }

  SpfSettings settings_;
  dns::Resolver* resolver_;
  std::shared_ptr<SpfResults> results_;
};

std::vector<mail::Cidr> read_networks(policy::Settings& settings) {
  std::vector<std::string> texts;
  settings.strings("trusted_networks", texts);
  std::vector<mail::Cidr> networks;
  for (const auto& text : texts) {
    if (auto cidr = mail::Cidr::parse(text)) {
      networks.push_back(*cidr);
    } else {
      settings.error("trusted_networks", "\"" + text + "\" is not an address or network");
    }
  }
  return networks;
}

std::unique_ptr<policy::Check> make_spf(policy::Settings& settings,
                                        const policy::CheckServices* services) {
  bool enabled = true; // unverified = "verified-sender" (the default) needs SPF to verify anyone
  settings.boolean("enabled", enabled);
  SpfSettings mine;
  mine.trusted_networks = read_networks(settings);
  settings.boolean("trust_mx_hosts", mine.trust_mx_hosts);
  mine.policies = read_spf_policies(settings);
  spf::EvaluatorOptions options;
  settings.string("explanation", options.default_explanation);
  if (!spf::MacroString::parse(options.default_explanation, spf::MacroUse::Explanation)) {
    settings.error("explanation", "is not a valid SPF macro string (RFC 7208 7.1)");
  }
  settings.millis("timeout", options.deadline);
  if (!enabled || services == nullptr) {
    return nullptr;
  }
  if (services->resolver == nullptr) {
    if (services->log) {
      services->log->error("checks.spf: enabled, but no DNS resolver is available to checks; "
                           "SPF is not checked");
    }
    return nullptr;
  }
  mine.peers = services->peers;
  mine.receiver = services->hostname;
  options.receiver = services->hostname;
  options.clock = services->clock;
  auto results = std::make_shared<SpfResults>(*services->resolver, std::move(options));
  return std::make_unique<SpfCheck>(std::move(mine), services->resolver, std::move(results));
}

const policy::RegisterCheck registration{{check_name, 400, &make_spf}};

} // namespace

} // namespace backstop::checks
