// blacklist: refuses a client that the offender store lists (it tried this backup MX too
// often while the primary was up, or hit our traps; issue 14) with 550 5.7.1 "you tried me,
// a backup MX, too often while the primary MX is online". The refusal comes at RCPT, not
// at connect or HELO: a 5xx there is one that every client understands as "this recipient,
// from you, no" and bounces (some clients treat a 554 banner or a refused HELO as a
// temporary fault and come back at once, or try the next MX, which may be us again), and
// the recipients an allowlist permits (postmaster@, abuse@) still reach the operator.
// Allowlists win: [checks.allowlist] permits before this check runs, and the offenders
// allowlist ([offenders] allow_networks, allow_ptr_suffixes against the forward-confirmed
// PTR name of fact ptr / ptr_confirmed) is never refused here and never listed (its
// offenses are kept as evidence that does not count). A store that fails or is slower than
// store_timeout never refuses: the recipient is accepted, logged and counted.
//
//   [checks.blacklist]
//   enabled = true
//   store_timeout = 500   # milliseconds
#include "checks/blacklist_ptr.hpp"
#include "mail/replies.hpp"
#include "policy/check_registry.hpp"
#include "state/async_offender_store.hpp"

namespace backstop::checks {

namespace {

using policy::Stage;

class Blacklist final : public policy::Check {
public:
  Blacklist(std::chrono::milliseconds store_timeout, const policy::CheckServices& services)
      : store_timeout_(store_timeout), store_(*services.offenders), resolver_(services.resolver),
        clock_(*services.clock), log_(services.log), counters_(services.counters) {}

  std::string_view name() const override { return "blacklist"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }

  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    if (context.session_permitted || context.transaction_permitted) {
      co_return mail::Verdict::accept("blacklist", "permitted by an allowlist");
    }
    const std::string& ip = context.client.ip;
    auto listed = co_await store_.listing(ip, clock_.now_unix(), store_timeout_);
    if (!listed) {
      log_unavailable(context, listed.error());
      co_return mail::Verdict::accept("blacklist", std::string("state store ") +
                                                       state::to_string(listed.error().kind) +
                                                       ", not checked: " + listed.error().message);
    }
    if (!listed.value()) {
      co_return mail::Verdict::accept("blacklist");
    }
    const state::Listing listing = std::move(*listed.value());
    const auto allowlist = store_.allowlist();
    const PtrName ptr = co_await confirmed_ptr(context, allowlist->has_ptr_suffixes(), resolver_);
    if (auto why = allowlist->match(ip, ptr.name); !why.empty()) {
      std::string reason = ip + " is listed (" + listing.reason + ") but allowlisted: " + why;
      if (log_) { // an operator wants to know: a listing that the allowlist overrides
        log_->info("session={} blacklist: {}", context.session_id, reason);
      }
      co_return mail::Verdict::accept("blacklist", std::move(reason));
    }
    if (ptr.trouble) { // it may be a large sender's host: not sure, so 4xx
      co_return mail::Verdict::decide(mail::Decision::Defer, mail::replies::blacklist_ptr_unchecked,
                                      "blacklist",
                                      ip + " is listed, but its PTR name cannot be checked "
                                           "against allow_ptr_suffixes now");
    }
    co_return mail::Verdict::decide(mail::Decision::Reject, mail::replies::blacklisted, "blacklist",
                                    ip + " is listed: " + listing.reason);
  }

private:
  void log_unavailable(const policy::SessionContext& context, const state::Error& e) const {
    metrics::count(counters_, metrics::Counter::BlacklistUnchecked);
    if (log_) {
      log_->warn("session={} blacklist: state store {}: {}; recipient accepted unchecked",
                 context.session_id, state::to_string(e.kind), e.message);
    }
  }

  std::chrono::milliseconds store_timeout_;
  state::AsyncOffenderStore& store_;
  dns::Resolver* resolver_;
  const mail::Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::Counters* counters_;
};

std::unique_ptr<policy::Check> make_blacklist(policy::Settings& settings,
                                              const policy::CheckServices* services) {
  bool enabled = false;
  std::chrono::milliseconds store_timeout{500};
  settings.boolean("enabled", enabled);
  settings.millis("store_timeout", store_timeout);
  if (!enabled || services == nullptr) {
    return nullptr;
  }
  if (services->offenders == nullptr || services->clock == nullptr) {
    if (services->log) {
      services->log->error("checks.blacklist: no state store; the blacklist check is off");
    }
    return nullptr;
  }
  return std::make_unique<Blacklist>(store_timeout, *services);
}

// After the allowlist (0) and the connection guards, before every check that could defer
// or score a listed client (dnsbl 300, primary_up): a listed client hears why.
const policy::RegisterCheck registration{{"blacklist", 40, &make_blacklist}};

} // namespace

} // namespace backstop::checks
