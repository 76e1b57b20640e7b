// recorder: a hit becomes an offense, a log line and counters.
#include "trap/recorder.hpp"

#include "state/async_offender_store.hpp"

namespace backstop::trap {

const char* to_string(Kind kind) {
  switch (kind) {
  case Kind::Smtp:
    return "smtp";
  case Kind::Refuse:
    return "refuse";
  case Kind::Defer:
    return "defer";
  case Kind::Tarpit:
    break;
  }
  return "tarpit";
}

namespace {

bool sees_rcpt(Kind kind) { return kind == Kind::Defer || kind == Kind::Tarpit; }

} // namespace

std::optional<state::Offense> Recorder::offense(const Hit& hit, std::int64_t now) const {
  const bool stale = listener_.stale_after && now >= *listener_.stale_after;
  if (listener_.kind == Kind::Smtp && !stale) {
    return std::nullopt; // a real MX address: its sessions are no offense
  }
  state::Offense o;
  o.address = hit.address;
  o.at = now;
  o.kind = stale ? state::OffenseKind::StaleMx : state::OffenseKind::TrapHit;
  o.listener = listener_.label;
  o.helo = hit.helo;
  o.sender_domain = hit.sender_domain;
  o.recipient_domain = hit.recipient_domain;
  o.detail = hit.detail;
  if (stale) {
    o.detail = "contacted an MX address withdrawn on " + listener_.stale_since + ": " + o.detail;
  }
  if (!listener_.name.empty()) {
    o.detail = listener_.name + ": " + o.detail;
  }
  o.counts = sees_rcpt(listener_.kind) ? hit.named_ours : listener_.count_hits;
  return o;
}

void Recorder::record(const Hit& hit) const {
  const std::int64_t now = services_.clock != nullptr ? services_.clock->now_unix() : 0;
  auto made = offense(hit, now);
  if (!made) {
    return;
  }
  const bool stale = made->kind == state::OffenseKind::StaleMx;
  if (listener_.kind != Kind::Smtp) {
    metrics::count(services_.counters, metrics::Counter::TrapHits);
  }
  if (stale) {
    metrics::count(services_.counters, metrics::Counter::StaleMxHits);
  }
  if (made->counts) {
    metrics::count(services_.counters, metrics::Counter::TrapHitsCounting);
  }
  if (services_.log) {
    services_.log->info("{}: {} from [{}] helo={} sender_domain={} recipient_domain={} "
                        "counts={}: {}",
                        stale ? "stale MX hit" : "trap hit", made->listener, made->address,
                        made->helo.empty() ? "-" : made->helo,
                        made->sender_domain.empty() ? "-" : made->sender_domain,
                        made->recipient_domain.empty() ? "-" : made->recipient_domain,
                        made->counts ? "yes" : "no", made->detail);
  }
  if (services_.offenders != nullptr) {
    services_.offenders->post_record(std::move(*made));
  }
}

} // namespace backstop::trap
