// greylist: defers the first attempt of a (client network, sender, recipient) triplet with
// 451 4.7.1 and accepts its retry after the delay, as real MTAs retry and most spam bots do
// not. A network whose retries passed auto_allow_after times is allowlisted for a while;
// with skip_spf_pass, an SPF pass (fact spf.mfrom) from a sender domain that passed before
// skips the delay. Greylisting is a filter: when the state store is unavailable or slower
// than store_timeout the recipient is accepted and the trouble logged, never deferred.
// Allowlisted clients and senders never reach it (the pipeline permits them first).
//
//   [checks.greylist]
//   enabled = true
//   delay = "5m"
//   auto_allow_after = 5
//   skip_spf_pass = true
#include "checks/greylist_memory.hpp"
#include "checks/greylist_network.hpp"
#include "mail/replies.hpp"
#include "policy/check_registry.hpp"
#include "state/async_store.hpp"

namespace backstop::checks {

namespace {

using namespace std::chrono_literals;
using policy::Stage;

struct GreylistOptions {
  state::GreylistRules rules;
  std::uint64_t ipv4_prefix = 24;
  std::uint64_t ipv6_prefix = 64;
  bool skip_spf_pass = false;
  std::chrono::milliseconds store_timeout{500};
  std::chrono::seconds refresh{600}; // a pass is taken from memory this long
};

std::string triplet_address(const mail::Address& a) {
  return a.is_null() ? "<>" : mail::ascii_lower(a.local) + "@" + mail::normalize_domain(a.domain);
}

class Greylist final : public policy::Check {
public:
  Greylist(GreylistOptions options, const policy::CheckServices& services)
      : options_(options), store_(*services.greylist), clock_(*services.clock), log_(services.log),
        counters_(services.counters) {}

  std::string_view name() const override { return "greylist"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }

  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    if (context.session_permitted || context.transaction_permitted) {
      co_return mail::Verdict::accept("greylist", "permitted by an allowlist");
    }
    auto attempt = make_attempt(context);
    const std::string who = describe(attempt.triplet);
    if (memory_.known(who, attempt.now) || memory_.known(attempt.triplet.network, attempt.now)) {
      metrics::count(counters_, metrics::Counter::GreylistMemoryHits);
      auto v = mail::Verdict::accept("greylist", "passed (remembered) " + who);
      v.facts.push_back({"greylist.result", "passed"});
      co_return v;
    }
    auto outcome = co_await store_.record_attempt(attempt, options_.rules, options_.store_timeout);
    if (!outcome) {
      log_unavailable(context, outcome.error());
      co_return mail::Verdict::accept(
          "greylist", std::string("state store ") + state::to_string(outcome.error().kind) +
                          ", not greylisted: " + outcome.error().message);
    }
    remember(outcome.value(), who, attempt);
    co_return verdict(outcome.value(), who, attempt.now);
  }

private:
  state::GreylistAttempt make_attempt(const policy::SessionContext& context) const {
    state::GreylistAttempt a;
    a.triplet.network =
        greylist_network(context.client.address, static_cast<unsigned>(options_.ipv4_prefix),
                         static_cast<unsigned>(options_.ipv6_prefix));
    a.triplet.sender = triplet_address(context.sender);
    a.triplet.recipient = triplet_address(context.recipient);
    a.sender_domain = context.sender.domain;
    a.spf_pass = options_.skip_spf_pass && context.fact("spf.mfrom") == "pass";
    a.now = clock_.now_unix();
    return a;
  }

  // A pass (or an allowlisted network) is answered from memory for a while; not the skips
  // that depend on this transaction's SPF result.
  void remember(const state::GreylistOutcome& o, const std::string& who,
                const state::GreylistAttempt& attempt) const {
    const std::int64_t until = attempt.now + options_.refresh.count();
    if (o.status == state::GreylistStatus::NetworkAllowed) {
      memory_.remember(attempt.triplet.network, std::min(until, o.allowed_until), attempt.now);
    } else if (o.status == state::GreylistStatus::Passed) {
      memory_.remember(who, until, attempt.now);
    }
  }

  static std::string describe(const state::Triplet& t) {
    return "(" + t.network + ", " + t.sender + ", " + t.recipient + ")";
  }

  mail::Verdict verdict(const state::GreylistOutcome& o, const std::string& who,
                        std::int64_t now) const {
    if (state::accepted(o.status)) {
      auto v =
          mail::Verdict::accept("greylist", std::string(state::to_string(o.status)) + " " + who);
      v.facts.push_back({"greylist.result", state::to_string(o.status)});
      return v;
    }
    const auto wait = std::max<std::int64_t>(o.retry_at - now, 1);
    auto reply = mail::replies::greylisted.with_text("Greylisted, try again in " +
                                                     std::to_string(wait) + " seconds");
    return mail::Verdict::decide(mail::Decision::Defer, std::move(reply), "greylist",
                                 std::string("triplet ") + state::to_string(o.status) + " " + who +
                                     ", retry after " + std::to_string(wait) + " s");
  }

  void log_unavailable(const policy::SessionContext& context, const state::Error& e) const {
    if (log_) {
      log_->warn("session={} greylist: state store {}: {}; recipient accepted ungreylisted",
                 context.session_id, state::to_string(e.kind), e.message);
    }
  }

  GreylistOptions options_;
  state::AsyncGreylistStore& store_;
  const mail::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counters* counters_;
  mutable GreylistMemory memory_;
};

void read_lifetimes(policy::Settings& settings, state::GreylistRules& rules) {
  std::chrono::seconds delay{rules.delay};
  std::chrono::seconds retry_window{rules.retry_window};
  std::chrono::seconds lifetime{rules.lifetime};
  std::chrono::seconds allow_lifetime{rules.allow_lifetime};
  std::chrono::seconds domain_lifetime{rules.domain_lifetime};
  settings.duration("delay", delay);
  settings.duration("retry_window", retry_window);
  settings.duration("lifetime", lifetime);
  settings.duration("auto_allow_lifetime", allow_lifetime);
  settings.duration("known_domain_lifetime", domain_lifetime);
  if (retry_window <= delay) {
    settings.error("retry_window", "must be longer than delay");
  }
  rules.delay = delay.count();
  rules.retry_window = retry_window.count();
  rules.lifetime = lifetime.count();
  rules.allow_lifetime = allow_lifetime.count();
  rules.domain_lifetime = domain_lifetime.count();
}

std::unique_ptr<policy::Check> make_greylist(policy::Settings& settings,
                                             const policy::CheckServices* services) {
  bool enabled = false;
  GreylistOptions o;
  o.rules.allow_after = 5;
  settings.boolean("enabled", enabled);
  read_lifetimes(settings, o.rules);
  settings.integer("auto_allow_after", o.rules.allow_after, 0, 1000000);
  settings.integer("ipv4_prefix", o.ipv4_prefix, 8, 32);
  settings.integer("ipv6_prefix", o.ipv6_prefix, 16, 128);
  settings.boolean("skip_spf_pass", o.skip_spf_pass);
  settings.millis("store_timeout", o.store_timeout);
  settings.duration("memory_refresh", o.refresh);
  o.rules.remember_domains = o.skip_spf_pass;
  if (!enabled || services == nullptr) {
    return nullptr;
  }
  if (services->greylist == nullptr || services->clock == nullptr) {
    settings.error("enabled", "greylisting needs the state store, which is not running");
    if (services->log) {
      services->log->error("greylist: no state store; greylisting is off");
    }
    return nullptr;
  }
  return std::make_unique<Greylist>(o, *services);
}

const policy::RegisterCheck registration{{"greylist", 800, &make_greylist}};

} // namespace

} // namespace backstop::checks
