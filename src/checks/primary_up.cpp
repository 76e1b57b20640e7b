// primary_up: a backup MX is for when the primary cannot be reached. While a backed-up
// domain's primary is up (the monitor: any more-preferred host answers its probes, or an
// ETRN heartbeat is fresh), a client that comes here first is told to try the primary:
// "defer" (451 4.7.0, the default), "reject" (551 5.7.1, as seed 001's proposal writes) or
// "accept" (the domain wants the old behaviour; Moore's objection). Unknown (not probed yet)
// is not up. Each deferral is recorded as an offense (state/offender_store.hpp).
//
// The persistence pass answers Keith Moore's objection that some senders really cannot reach
// the primary (partitions, firewalls, NAT): the same (network, sender, recipient) deferred
// at least min_retries times over at least min_period is accepted and logged "primary
// unreachable for this sender". Real MTAs retry; most bots do not. A store that fails or is
// slow never turns into a 5xx: the recipient is deferred.
//
//   [checks.primary_up]
//   action = "defer"
//   min_retries = 3
//   min_period = "30m"
//   [checks.primary_up.domain."example.org"]
//   action = "accept"
#include "checks/greylist_network.hpp"
#include "policy/check_registry.hpp"
#include "state/async_offender_store.hpp"

#include <algorithm>
#include <map>

namespace backstop::checks {

namespace {

using policy::Stage;

enum class Action { Defer, Reject, Accept };

struct Options {
  Action action = Action::Defer;
  std::map<std::string, Action, std::less<>> domain_action;
  std::uint64_t min_retries = 3;
  std::chrono::seconds min_period{1800};
  std::chrono::seconds retry_window{2 * 86400}; // a deferred triplet not seen again is forgotten
  std::uint64_t ipv4_prefix = 24;
  std::uint64_t ipv6_prefix = 64;
  std::chrono::milliseconds store_timeout{500};
};

class PrimaryUp final : public policy::Check {
public:
  PrimaryUp(Options options, const policy::CheckServices& services)
      : options_(std::move(options)), status_(*services.primary_status),
        offenders_(services.offenders), clock_(*services.clock), log_(services.log) {}

  std::string_view name() const override { return "primary_up"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }

  asio::awaitable<mail::Verdict> check(Stage,
                                       const policy::SessionContext& context) const override {
    const std::string& domain = context.recipient.domain;
    const Action action = action_for(domain);
    if (action == Action::Accept) {
      co_return mail::Verdict::accept("primary_up", "action = accept for " + domain);
    }
    const auto view = status_.domain(domain);
    if (view.state != policy::PrimaryState::Up) {
      co_return mail::Verdict::accept("primary_up", std::string("primary of ") + domain + " is " +
                                                        policy::to_string(view.state));
    }
    if (action == Action::Defer && offenders_ != nullptr) {
      auto passed = co_await persistence_pass(context);
      if (passed) {
        co_return *passed;
      }
    }
    record_offense(context, view.host);
    co_return refusal(action, domain, view);
  }

private:
  Action action_for(std::string_view domain) const {
    auto found = options_.domain_action.find(domain);
    return found == options_.domain_action.end() ? options_.action : found->second;
  }

  state::Triplet triplet(const policy::SessionContext& context) const {
    return {greylist_network(context.client.address, static_cast<unsigned>(options_.ipv4_prefix),
                             static_cast<unsigned>(options_.ipv6_prefix)),
            context.sender.is_null() ? std::string("<>")
                                     : mail::ascii_lower(context.sender.to_string()),
            mail::ascii_lower(context.recipient.to_string())};
  }

  // An accept when this client has come back often and long enough; nullopt otherwise.
  asio::awaitable<std::optional<mail::Verdict>>
  persistence_pass(const policy::SessionContext& context) const {
    const auto now = clock_.now_unix();
    state::Triplet seen = triplet(context);
    auto history = co_await offenders_->record_retry(
        std::move(seen), now, options_.retry_window.count(), options_.store_timeout);
    if (!history) {
      if (log_) {
        log_->warn("primary_up: {}; the recipient is deferred", history.error().message);
      }
      co_return std::nullopt; // never a 5xx, never a pass: the client retries
    }
    const auto& h = history.value();
    const std::uint64_t deferred_before = h.attempts > 0 ? h.attempts - 1 : 0;
    if (deferred_before < options_.min_retries || now - h.first_at < options_.min_period.count()) {
      co_return std::nullopt;
    }
    const std::string why =
        "primary unreachable for this sender: " + std::to_string(deferred_before) +
        " deferrals over " + std::to_string(now - h.first_at) + " s";
    if (log_) {
      log_->info("{} primary_up: {} from {} to <{}>", context.session_id, why, context.client.ip,
                 context.recipient.to_string());
    }
    co_return mail::Verdict::accept("primary_up", why);
  }

  void record_offense(const policy::SessionContext& context, const std::string& host) const {
    if (offenders_ == nullptr) {
      return;
    }
    state::Offense o;
    o.address = context.client.ip;
    o.at = clock_.now_unix();
    o.kind = state::OffenseKind::PrimaryDeferral;
    o.listener = "smtp " + context.client.listener;
    o.helo = context.helo;
    o.sender_domain = context.sender.is_null() ? std::string() : context.sender.domain;
    o.recipient_domain = context.recipient.domain;
    o.detail = "told to try the primary MX " + host + " first";
    offenders_->post_record(std::move(o)); // the reply does not wait for the bookkeeping
  }

  static mail::Verdict refusal(Action action, const std::string& domain,
                               const policy::PrimaryView& view) {
    const std::string host = view.host == "heartbeat" ? "the primary MX of " + domain : view.host;
    if (action == Action::Reject) {
      return mail::Verdict::decide(
          mail::Decision::Reject,
          {551, "5.7.1",
           domain + " Try the primary MX first while it is online; please try " + host},
          "primary_up", "primary up: " + view.reason);
    }
    return mail::Verdict::decide(mail::Decision::Defer,
                                 {451, "4.7.0", "try the primary MX first: " + host}, "primary_up",
                                 "primary up: " + view.reason);
  }

  Options options_;
  const policy::PrimaryStatus& status_;
  state::AsyncOffenderStore* offenders_;
  const mail::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
};

Action read_action(policy::Settings& s, Action current) {
  return static_cast<Action>(
      s.choice("action", {"defer", "reject", "accept"}, static_cast<std::size_t>(current)));
}

std::unique_ptr<policy::Check> make_primary_up(policy::Settings& s,
                                               const policy::CheckServices* services) {
  Options o;
  bool enabled = true;
  s.boolean("enabled", enabled);
  o.action = read_action(s, o.action);
  for (auto& [domain, table] : s.tables("domain")) {
    if (table->has("action")) {
      o.domain_action[mail::normalize_domain(domain)] = read_action(*table, o.action);
    }
  }
  s.integer("min_retries", o.min_retries, 0, 1000);
  s.duration("min_period", o.min_period);
  s.duration("retry_window", o.retry_window);
  if (o.retry_window <= o.min_period) {
    s.error("retry_window", "must be longer than min_period");
  }
  s.integer("ipv4_prefix", o.ipv4_prefix, 8, 32);
  s.integer("ipv6_prefix", o.ipv6_prefix, 16, 128);
  s.millis("store_timeout", o.store_timeout);
  const bool accepts_all = o.action == Action::Accept &&
                           std::all_of(o.domain_action.begin(), o.domain_action.end(),
                                       [](const auto& d) { return d.second == Action::Accept; });
  if (services == nullptr || !enabled || accepts_all || services->primary_status == nullptr ||
      services->clock == nullptr) {
    return nullptr; // "accept" everywhere is today's behaviour: nothing to ask per RCPT
  }
  return std::make_unique<PrimaryUp>(std::move(o), *services);
}

// After the allowlist (0) and sender_domain (50), before recipient verification (500): a
// client told to try the primary costs the primary no callout.
const policy::RegisterCheck registration{{"primary_up", 450, &make_primary_up}};

} // namespace

} // namespace backstop::checks
