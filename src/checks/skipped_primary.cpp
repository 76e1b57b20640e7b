// skipped_primary: a client that reached us, a less-preferred MX, with no contact to a
// more-preferred MX of the recipient's domain within a window "skipped the primary": it adds
// to the score and records an offense (kind skipped-primary, the evidence in words). The
// contacts come from the contact store: the primary's log fed in by `backstop ingest`, or
// another backstop tier's mx_contacts. Off by default: without a feed every client would
// look like one that skipped the primary. When nobody at all reached those hosts lately
// (feed_silence), the feed is silent or the primary down, and nobody is judged. A store that
// is slow or unavailable accepts: this check only ever scores, never refuses by itself.
//
//   [checks.skipped_primary]
//   enabled = true
//   window = "1h"
//   score = 5.0
//   preferred = ["mx1.example.org"]                          # for every domain, or:
//   [checks.skipped_primary.domain."example.org"]
//   preferred = ["mx1.example.org"]                          # else the domain's MX records
#include "checks/skipped_primary_hosts.hpp"
#include "mail/address.hpp"
#include "policy/check_registry.hpp"
#include "state/async_contact_store.hpp"
#include "state/async_offender_store.hpp"

#include <algorithm>

namespace backstop::checks {

namespace {

using namespace std::chrono_literals;
using policy::Stage;

constexpr std::string_view check_name = "skipped_primary";
constexpr std::string_view scored_fact = "skipped_primary";                   // this transaction
constexpr std::string_view recorded_fact = "session.skipped_primary.offense"; // once a session

// "1 h", "90 min", "45 s": for the evidence an operator reads.
std::string words(std::chrono::seconds d) {
  const auto s = d.count();
  if (s >= 3600 && s % 3600 == 0) {
    return std::to_string(s / 3600) + " h";
  }
  if (s >= 60 && s % 60 == 0) {
    return std::to_string(s / 60) + " min";
  }
  return std::to_string(s) + " s";
}

// An age in its largest whole unit ("3 h" for 10801 s): the clock moved on since the contact
// was recorded, and an operator reads "3 h ago", not the exact seconds.
std::string age_words(std::chrono::seconds d) {
  const auto s = d.count();
  if (s >= 2 * 3600) {
    return std::to_string(s / 3600) + " h";
  }
  if (s >= 2 * 60) {
    return std::to_string(s / 60) + " min";
  }
  return std::to_string(s) + " s";
}

struct SkippedPrimaryOptions {
  PreferredHosts hosts;
  std::chrono::seconds window{3600};
  std::chrono::seconds feed_silence{3600};
  double score = 5;
  std::chrono::milliseconds store_timeout{500};
};

class SkippedPrimary final : public policy::Check {
public:
  SkippedPrimary(SkippedPrimaryOptions options, const policy::CheckServices& services)
      : options_(std::move(options)), services_(services) {}

  std::string_view name() const override { return check_name; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }

  asio::awaitable<mail::Verdict> check(Stage,
                                       const policy::SessionContext& context) const override {
    if (context.session_permitted || context.transaction_permitted) {
      co_return accept("permitted by an allowlist");
    }
    if (!context.fact(scored_fact).empty()) {
      co_return accept("already scored in this transaction");
    }
    const std::string domain = mail::normalize_domain(context.recipient.domain);
    auto hosts = co_await options_.hosts.of(domain, services_);
    if (hosts.empty()) {
      co_return accept("no more-preferred MX known for " + domain);
    }
    const std::int64_t now = services_.clock->now_unix();
    auto evidence = co_await services_.contacts->evidence(context.client.ip, hosts, now,
                                                          options_.store_timeout);
    if (!evidence) {
      log_store_trouble(context, evidence.error());
      co_return accept(std::string("state store ") + state::to_string(evidence.error().kind) +
                       ", not judged: " + evidence.error().message);
    }
    co_return judge(context, domain, evidence.value(), now);
  }

private:
  mail::Verdict judge(const policy::SessionContext& context, const std::string& domain,
                      const std::vector<state::HostEvidence>& evidence, std::int64_t now) const {
    const std::int64_t since = now - options_.window.count();
    bool feed_alive = options_.feed_silence.count() == 0;
    for (const auto& e : evidence) {
      if (e.client_last > since) {
        return accept("contacted " + e.host + " " + std::to_string(now - e.client_last) + " s ago");
      }
      feed_alive = feed_alive || e.anyone_last > now - options_.feed_silence.count();
    }
    if (!feed_alive) {
      return accept("nobody contacted " + join(evidence) + " within " +
                    words(options_.feed_silence) +
                    ": the feed is silent or the primary down, not judged");
    }
    const std::string detail = describe(evidence, now);
    if (context.fact(recorded_fact).empty()) {
      record_offense(context, domain, detail, now);
    }
    if (services_.log) {
      services_.log->info("session={} skipped_primary: client {} for {}: {}; score +{}",
                          context.session_id, context.client.ip, domain, detail, options_.score);
    }
    auto v = mail::Verdict::scored(std::string(check_name), options_.score, detail);
    v.facts.push_back({std::string(scored_fact), join(evidence)});
    v.facts.push_back({std::string(recorded_fact), "yes"});
    return v;
  }

  // "no contact to mx1.example.org within 1 h" or "... (last 3 h ago)".
  std::string describe(const std::vector<state::HostEvidence>& evidence, std::int64_t now) const {
    std::string text = "no contact to " + join(evidence) + " within " + words(options_.window);
    std::int64_t last = 0;
    for (const auto& e : evidence) {
      last = std::max(last, e.client_last);
    }
    if (last > 0) {
      text += " (last " + age_words(std::chrono::seconds(now - last)) + " ago)";
    }
    return text;
  }

  void record_offense(const policy::SessionContext& context, const std::string& domain,
                      const std::string& detail, std::int64_t now) const {
    if (services_.offenders == nullptr) {
      return;
    }
    state::Offense o;
    o.address = context.client.ip;
    o.at = now;
    o.kind = state::OffenseKind::SkippedPrimary;
    o.listener = "smtp " + context.client.listener;
    o.helo = context.helo;
    o.sender_domain = context.sender.is_null() ? "" : mail::normalize_domain(context.sender.domain);
    o.recipient_domain = domain;
    o.detail = detail;
    services_.offenders->post_record(std::move(o));
  }

  static std::string join(const std::vector<state::HostEvidence>& evidence) {
    std::string out;
    for (const auto& e : evidence) {
      out += (out.empty() ? "" : ", ") + e.host;
    }
    return out;
  }

  void log_store_trouble(const policy::SessionContext& context, const state::Error& e) const {
    if (services_.log) {
      services_.log->warn("session={} skipped_primary: state store {}: {}; not judged",
                          context.session_id, state::to_string(e.kind), e.message);
    }
  }

  static mail::Verdict accept(std::string reason) {
    return mail::Verdict::accept(std::string(check_name), std::move(reason));
  }

  SkippedPrimaryOptions options_;
  policy::CheckServices services_; // a copy: the factory's may be a temporary
};

std::unique_ptr<policy::Check> make_skipped_primary(policy::Settings& settings,
                                                    const policy::CheckServices* services) {
  bool enabled = false;
  SkippedPrimaryOptions o;
  settings.boolean("enabled", enabled);
  settings.duration("window", o.window);
  settings.duration("feed_silence", o.feed_silence);
  settings.number("score", o.score, 0, 1000000);
  settings.millis("store_timeout", o.store_timeout);
  o.hosts = read_preferred_hosts(settings);
  if (o.window.count() <= 0) {
    settings.error("window", "must be longer than 0 s");
  }
  if (!enabled || services == nullptr) {
    return nullptr;
  }
  if (services->contacts == nullptr || services->clock == nullptr) {
    settings.error("enabled", "the skipped-primary check needs the state store");
    return nullptr;
  }
  return std::make_unique<SkippedPrimary>(std::move(o), *services);
}

const policy::RegisterCheck registration{{check_name, 820, &make_skipped_primary}};

} // namespace

} // namespace backstop::checks
