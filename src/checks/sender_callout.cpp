// sender_callout: is the sender an address a bounce could reach? One of the MX hosts of the
// sender's domain is asked (EHLO, MAIL FROM:<>, RCPT TO:<sender>, QUIT) through
// services->sender_prober, and the answer is remembered. Mail whose bounce could never be
// delivered is refused while the client waits (550 5.7.1 with the MX's own words); when the
// MX cannot tell, the recipient domain's `cannot_tell` decides (defer by default: the seeds'
// defer_ok debate). Off by default; never asked for the null sender, address literals,
// special-use names or a domain we back up.
//
//   [checks.sender_callout]
//   enabled = true
//   stage = "rcpt"              # or "mail"
//   cannot_tell = "defer"       # or "accept"
//   [checks.sender_callout.domain."example.org"]
//   cannot_tell = "accept"
#include "checks/sender_callout_cache.hpp"
#include "checks/sender_callout_reply.hpp"
#include "dns/special_use.hpp"
#include "mail/replies.hpp"
#include "policy/check_registry.hpp"

#include <asio.hpp>

namespace backstop::checks {

namespace {

using policy::AnswerScope;
using policy::SenderAnswer;
using policy::Stage;
namespace mr = mail::replies;

constexpr const char* check_name = "sender_callout";
constexpr std::size_t max_quoted = 200; // of remote text in our reply

struct Lifetimes {
  std::chrono::seconds positive{std::chrono::hours(24)};       // the address accepts
  std::chrono::seconds negative{std::chrono::hours(2)};        // the address is refused
  std::chrono::seconds domain_negative{std::chrono::hours(3)}; // null sender / every address
  std::chrono::seconds cannot_tell{std::chrono::seconds(60)};  // no MX host could be asked
};

struct Options {
  Stage stage = Stage::Rcpt;
  bool defer_cannot_tell = true;
  std::map<std::string, bool, std::less<>> domain_defer; // by recipient domain
  Lifetimes lifetimes;
  policy::SenderProbeLimits limits;
  std::size_t cache_size = 100000;
};

} // namespace

std::string quote_remote(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max_quoted) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += out.empty() || out.back() == ' ' ? "" : " ";
    } else {
      out += c < 0x80 ? static_cast<char>(c) : '?';
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

namespace {

class SenderCalloutCheck final : public policy::Check {
public:
  SenderCalloutCheck(Options options, const policy::CheckServices& services)
      : options_(std::move(options)), prober_(*services.sender_prober),
        backed_up_(services.backed_up_domains), cache_(*services.clock, options_.cache_size),
        counters_(services.counters) {}

  std::string_view name() const override { return check_name; }
  bool runs_at(Stage stage) const override { return stage == options_.stage; }

  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    const mail::Address sender = context.sender;
    if (auto skip = not_asked(sender, context)) {
      co_return mail::Verdict::accept(check_name, *skip);
    }
    const auto domain_key = SenderCalloutCache::domain_key(sender.domain);
    const auto address_key = SenderCalloutCache::address_key(sender);
    for (const auto& key : {domain_key, address_key}) {
      if (auto known = cache_.find(key)) {
        metrics::count(counters_, metrics::Counter::SenderCalloutCacheHits);
        co_return verdict(context, sender, known->answer, known->reply, "remembered");
      }
    }
    metrics::count(counters_, metrics::Counter::SenderCalloutCacheMisses);
    auto& prober = prober_;
    const auto answer = co_await prober.probe(sender, options_.limits);
    remember(answer, domain_key, address_key);
    co_return verdict(context, sender, answer.answer, answer.reply,
                      answer.asked ? "asked" : "not asked");
  }

private:
  // Why the sender is not asked about, or nullopt when it is.
  std::optional<std::string> not_asked(const mail::Address& sender,
                                       const policy::SessionContext& context) const {
    if (sender.is_null()) {
      return "the null sender is never asked";
    }
    if (sender.domain.empty() || sender.domain.front() == '[') {
      return "address literal: no MX to ask";
    }
    if (dns::special_use_name(sender.domain)) {
      return "special-use name: left to sender_domain";
    }
    if (backed_up_.count(sender.domain) != 0) {
      return sender.domain + " is a domain we back up: never asked";
    }
    if (context.fact(policy::facts::sender_verified) == "callout") {
      return "verified by callout earlier in this transaction";
    }
    return std::nullopt;
  }

  void remember(const policy::SenderProbeAnswer& a, const std::string& domain_key,
                const std::string& address_key) const {
    const auto& l = options_.lifetimes;
    const bool domain = a.scope == AnswerScope::Domain;
    switch (a.answer) {
    case SenderAnswer::Accepts:
      cache_.remember(address_key, a.answer, a.reply, l.positive);
      break;
    case SenderAnswer::Refuses:
      cache_.remember(domain ? domain_key : address_key, a.answer, a.reply,
                      domain ? l.domain_negative : l.negative);
      break;
    case SenderAnswer::CannotTell:
      // Only what an MX was asked for (it stalled, was unreachable or said 4xx), briefly, so
      // that the recipients of one message cost it one question; a rate-limit answer is not
      // remembered: that would stretch the limit.
      if (a.asked) {
        cache_.remember(domain ? domain_key : address_key, a.answer, a.reply, l.cannot_tell);
      }
      break;
    }
  }

  bool defers(const policy::SessionContext& context) const {
    if (options_.stage == Stage::Rcpt) {
      auto it = options_.domain_defer.find(context.recipient.domain);
      if (it != options_.domain_defer.end()) {
        return it->second;
      }
    }
    return options_.defer_cannot_tell;
  }

  mail::Verdict verdict(const policy::SessionContext& context, const mail::Address& sender,
                        SenderAnswer answer, const std::string& reply, std::string_view how) const {
    const std::string who = "<" + sender.to_string() + "> ";
    const std::string said = " (" + std::string(how) + "): " + quote_remote(reply); // logged
    if (answer == SenderAnswer::Accepts) {
      auto v = mail::Verdict::accept(check_name, who + "accepted by its MX" + said);
      v.facts.push_back({std::string(policy::facts::sender_verified), "callout"});
      return v;
    }
    if (answer == SenderAnswer::Refuses) {
      return mail::Verdict::decide(
          mail::Decision::Reject,
          mr::sender_callout_refused.with_text(mr::sender_callout_refused.text + ": " +
                                               quote_remote(reply)),
          check_name, who + "refused by its MX" + said);
    }
    if (!defers(context)) {
      return mail::Verdict::accept(check_name, who + "cannot be verified, accepted" + said);
    }
    return mail::Verdict::decide(mail::Decision::Defer, mr::sender_callout_unchecked, check_name,
                                 who + "cannot be verified" + said);
  }

  Options options_;
  policy::SenderProber& prober_;
  std::set<std::string, std::less<>> backed_up_;
  mutable SenderCalloutCache cache_;
  metrics::Counters* counters_;
};

std::size_t read_size(policy::Settings& s, const char* key, std::size_t value, std::uint64_t min,
                      std::uint64_t max) {
  std::uint64_t v = value;
  s.integer(key, v, min, max);
  return static_cast<std::size_t>(v);
}

void read_lifetime(policy::Settings& s, const char* key, std::chrono::seconds& out) {
  s.duration(key, out);
  if (out < std::chrono::seconds::zero()) {
    s.error(key, "must not be negative");
    out = std::chrono::seconds::zero();
  }
}

void read_timeout(policy::Settings& s, const char* key, std::chrono::seconds& out) {
  s.duration(key, out);
  if (out < std::chrono::seconds(1)) {
    s.error(key, "must be at least 1s");
    out = std::chrono::seconds(1);
  }
}

Options read_options(policy::Settings& s) {
  Options o;
  o.stage = s.choice("stage", {"mail", "rcpt"}, 1) == 0 ? Stage::Mail : Stage::Rcpt;
  o.defer_cannot_tell = s.choice("cannot_tell", {"defer", "accept"}, 0) == 0;
  for (auto& [domain, table] : s.tables("domain")) {
    if (table->has("cannot_tell")) {
      o.domain_defer[mail::normalize_domain(domain)] =
          table->choice("cannot_tell", {"defer", "accept"}, o.defer_cannot_tell ? 0 : 1) == 0;
    }
  }
  read_lifetime(s, "positive_lifetime", o.lifetimes.positive);
  read_lifetime(s, "negative_lifetime", o.lifetimes.negative);
  read_lifetime(s, "domain_negative_lifetime", o.lifetimes.domain_negative);
  read_lifetime(s, "cannot_tell_lifetime", o.lifetimes.cannot_tell);
  read_timeout(s, "timeout", o.limits.timeout);
  read_timeout(s, "connect_timeout", o.limits.connect_timeout);
  read_timeout(s, "reply_timeout", o.limits.reply_timeout);
  o.limits.max_hosts = read_size(s, "max_hosts", o.limits.max_hosts, 1, 10);
  o.limits.per_minute_per_domain =
      read_size(s, "per_minute_per_domain", o.limits.per_minute_per_domain, 1, 100000);
  o.limits.concurrent_per_domain =
      read_size(s, "concurrent_per_domain", o.limits.concurrent_per_domain, 1, 1000);
  o.cache_size = read_size(s, "cache_size", o.cache_size, 1, 10000000);
  return o;
}

std::unique_ptr<policy::Check> make_sender_callout(policy::Settings& settings,
                                                   const policy::CheckServices* services) {
  bool enabled = false;
  settings.boolean("enabled", enabled);
  auto options = read_options(settings);
  if (!enabled || services == nullptr) {
    return nullptr;
  }
  if (services->sender_prober == nullptr || services->clock == nullptr) {
    if (services->log) {
      services->log->error("checks.sender_callout: enabled, but this build cannot make "
                           "callouts (no sender prober); the check is off");
    }
    return nullptr;
  }
  return std::make_unique<SenderCalloutCheck>(std::move(options), *services);
}

// After the cheap checks of a stage (DNSBL, HELO, SPF): a callout costs a third party a
// connection, so it is asked only for mail nothing else refused.
const policy::RegisterCheck registration{{check_name, 800, &make_sender_callout}};

} // namespace

} // namespace backstop::checks
