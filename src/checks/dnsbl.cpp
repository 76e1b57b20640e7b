// dnsbl: DNS block lists and allow lists (RFC 5782). Each zone is asked about the client
// address ("ip"), the HELO name ("helo") or the sender domain ("sender", both RHSBL); a zone
// whose answer matches its codes adds its weight (negative for a DNSWL) to the sum, and a
// sum at or above the threshold refuses at RCPT with 554 5.7.1, naming each blocking zone
// and its TXT record. Refusing at RCPT, not earlier, lets per-domain modes and recipient
// allowlists apply. The lookups start at the stage where their subject becomes known
// (prefetch) and run at the same time. DNS trouble never refuses: the zone counts 0 and is
// logged, as is an answer outside 127.0.0.0/8 (a broken or hijacked zone), which is ignored.
//
//   [checks.dnsbl]
//   threshold = 1
//   [[checks.dnsbl.zone]]
//   name = "zen.example"
//   type = "ip"                        # "ip" | "helo" | "sender"
//   codes = ["127.0.0.2-127.0.0.11"]   # default: 127.0.0.2-127.255.254.255
//   weight = 1                         # negative: an allowlist zone
#include "checks/dnsbl_zone.hpp"
#include "mail/address.hpp"
#include "mail/ip_address.hpp"
#include "mail/replies.hpp"
#include "policy/check_registry.hpp"

#include <cstdlib>
#include <fmt/format.h>

namespace backstop::checks {

namespace {

using policy::Stage;
using namespace dnsbl;

constexpr const char* check_name = "dnsbl";

// Started detached where a zone's subject becomes known; the resolver's memory and its
// joining of questions in flight let check() find the answer. By-value parameters only: it
// outlives the stage that started it.
asio::awaitable<void> warm(dns::Resolver* resolver, std::string name, bool with_text) {
  const dns::AddressAnswer answer = co_await resolver->a(name);
  if (with_text && answer.status == dns::Status::Found) {
    co_await resolver->txt(name);
  }
}

Subject subject_of(const policy::SessionContext& context) {
  Subject subject;
  if (!context.client.ip.empty()) {
    subject.client = context.client.address;
  }
  subject.helo = context.helo;
  if (!context.sender.is_null()) {
    subject.sender_domain = context.sender.domain;
  }
  return subject;
}

// The zone types whose subject the session learns at this stage.
bool learnt_at(ZoneType type, Stage stage) {
  switch (type) {
  case ZoneType::Ip:
    return stage == Stage::Connect;
  case ZoneType::Helo:
    return stage == Stage::Helo;
  case ZoneType::Sender:
    return stage == Stage::Mail;
  }
  return false;
}

std::string joined(const std::vector<asio::ip::address>& addresses) {
  std::string out;
  for (const auto& a : addresses) {
    out += (out.empty() ? "" : ",") + a.to_string();
  }
  return out;
}

std::string subject_text(ZoneType type, const Subject& subject) {
  switch (type) {
  case ZoneType::Ip:
    return "client [" + subject.client->to_string() + "]";
  case ZoneType::Helo:
    return "HELO " + subject.helo;
  case ZoneType::Sender:
    return "sender domain " + subject.sender_domain;
  }
  return {};
}

struct Listing {
  const Zone* zone;
  std::string name;
  std::vector<asio::ip::address> codes;
};

class Dnsbl final : public policy::Check {
public:
  Dnsbl(std::vector<Zone> zones, double threshold, const policy::CheckServices& services)
      : zones_(std::move(zones)), threshold_(threshold), resolver_(services.resolver),
        log_(services.log) {}

  std::string_view name() const override { return check_name; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }

  void prefetch(Stage stage, const policy::SessionContext& context) const override {
    const Subject subject = subject_of(context);
    for (const auto& zone : zones_) {
      if (learnt_at(zone.type, stage)) {
        start(zone, subject, context);
      }
    }
  }

  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    const Subject subject = subject_of(context);
    const std::string asked_for = key_of(subject);
    if (context.fact("dnsbl.for") == asked_for && !context.fact("dnsbl.score").empty() &&
        std::strtod(std::string(context.fact("dnsbl.score")).c_str(), nullptr) < threshold_) {
      co_return mail::Verdict::accept(check_name); // this transaction's answer, known already
    }
    // Every lookup was started when its subject became known (the pipeline prefetches at
    // each stage), so awaiting them one by one joins answers that are landed or in flight.
    double score = 0;
    std::vector<Listing> listings;
    for (const auto& zone : zones_) {
      const auto name = query_name(zone, subject);
      if (!name) {
        continue;
      }
      const dns::AddressAnswer answer = co_await resolver_->a(*name);
      if (auto listing = sort_out(zone, *name, answer, context)) {
        score += zone.weight;
        listings.push_back(std::move(*listing));
      }
    }
    mail::Verdict verdict = mail::Verdict::accept(check_name);
    if (score >= threshold_) {
      verdict = co_await refusal(listings, subject, score);
    } else if (!listings.empty()) {
      // Below its own threshold the sum still counts towards [checks] reject_score, once
      // per transaction (later recipients reuse it above and add nothing).
      verdict.score = score;
      verdict.reason =
          fmt::format("score {} below threshold {}: {}", score, threshold_, listed_zones(listings));
    }
    verdict.facts.push_back({"dnsbl.for", asked_for});
    verdict.facts.push_back({"dnsbl.score", fmt::format("{}", score)});
    verdict.facts.push_back({"dnsbl.listed", listed_zones(listings)});
    co_return verdict;
  }

private:
  void start(const Zone& zone, const Subject& subject,
             const policy::SessionContext& context) const {
    if (auto name = query_name(zone, subject)) {
      asio::co_spawn(context.executor, warm(resolver_, std::move(*name), zone.weight > 0),
                     asio::detached);
    }
  }

  static std::string key_of(const Subject& subject) {
    return (subject.client ? mail::address_text(*subject.client) : "") + "|" + subject.helo + "|" +
           subject.sender_domain;
  }

  // A listing when the answer matches the zone's codes; trouble is logged and counts 0.
  std::optional<Listing> sort_out(const Zone& zone, const std::string& name,
                                  const dns::AddressAnswer& answer,
                                  const policy::SessionContext& context) const {
    if (answer.status == dns::Status::TempFail) {
      warn(context, fmt::format("zone {} not checked, counts 0: {}", zone.name, answer.error));
      return std::nullopt;
    }
    if (answer.status != dns::Status::Found) {
      return std::nullopt;
    }
    Classified sorted = classify(zone, answer.addresses);
    if (!sorted.outside_loopback.empty()) {
      warn(context, fmt::format("zone {} answered {} for {}: outside 127.0.0.0/8, ignored "
                                "(a broken or hijacked zone)",
                                zone.name, joined(sorted.outside_loopback), name));
    }
    if (!sorted.listed) {
      return std::nullopt;
    }
    return Listing{&zone, name, std::move(sorted.matched)};
  }

  // 554 5.7.1 naming every blocking zone with its TXT record (or the codes it answered).
  asio::awaitable<mail::Verdict> refusal(const std::vector<Listing>& listings,
                                         const Subject& subject, double score) const {
    std::string text;
    for (const auto& listing : listings) {
      if (listing.zone->weight <= 0) {
        continue;
      }
      const dns::TextAnswer txt = co_await resolver_->txt(listing.name);
      std::string why = txt.status == dns::Status::Found && !txt.records.empty()
                            ? reply_safe(txt.records.front())
                            : joined(listing.codes);
      text += (text.empty() ? "" : "; ") + subject_text(listing.zone->type, subject) +
              " blocked using " + listing.zone->name + ": " + why;
    }
    const auto& base = mail::replies::dnsbl_listed;
    co_return mail::Verdict::decide(
        mail::Decision::Reject, base.with_text(reply_safe(base.text + "; " + text, 400)),
        check_name, fmt::format("score {} >= threshold {}: {}", score, threshold_, text));
  }

  static std::string listed_zones(const std::vector<Listing>& listings) {
    std::string out;
    for (const auto& listing : listings) {
      out += (out.empty() ? "" : " ") + listing.zone->name;
    }
    return out;
  }

  void warn(const policy::SessionContext& context, const std::string& message) const {
    if (log_) {
      log_->warn("{}: dnsbl: {}", context.session_id, message);
    }
  }

  std::vector<Zone> zones_;
  double threshold_;
  dns::Resolver* resolver_;
  std::shared_ptr<spdlog::logger> log_;
};

std::optional<Zone> read_zone(policy::Settings& settings) {
  Zone zone;
  settings.string("name", zone.name);
  zone.name = mail::normalize_domain(zone.name);
  if (zone.name.empty()) {
    settings.error("name", "a zone needs a name, e.g. \"zen.example\"");
    return std::nullopt;
  }
  zone.type = static_cast<ZoneType>(settings.choice("type", {"ip", "helo", "sender"}, 0));
  settings.number("weight", zone.weight, -1000, 1000);
  if (settings.has("codes")) {
    std::vector<std::string> texts;
    settings.strings("codes", texts);
    zone.codes.clear();
    for (const auto& text : texts) {
      std::string error;
      if (auto range = parse_code_range(text, error)) {
        zone.codes.push_back(*range);
      } else {
        settings.error("codes", error);
      }
    }
  }
  return zone;
}

std::unique_ptr<policy::Check> make_dnsbl(policy::Settings& settings,
                                          const policy::CheckServices* services) {
  double threshold = 1;
  settings.number("threshold", threshold, 0.001, 1000000);
  std::vector<Zone> zones;
  for (auto* zone_settings : settings.array_of_tables("zone")) {
    if (auto zone = read_zone(*zone_settings)) {
      zones.push_back(std::move(*zone));
    }
  }
  if (services == nullptr || zones.empty()) {
    return nullptr;
  }
  if (services->resolver == nullptr) { // a wiring fault: say so rather than check nothing
    if (services->log) {
      services->log->error("dnsbl: no DNS resolver for checks; the {} zones are not asked",
                           zones.size());
    }
    return nullptr;
  }
  return std::make_unique<Dnsbl>(std::move(zones), threshold, *services);
}

const policy::RegisterCheck registration{{"dnsbl", 300, &make_dnsbl}};

} // namespace

} // namespace backstop::checks
