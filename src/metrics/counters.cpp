// counters: names and help texts of every counter, and the refusal table.
#include "metrics/counters.hpp"

namespace backstop::metrics {

namespace {

struct CounterName {
  Counter counter;
  std::string_view name;
  std::string_view help;
};

constexpr std::array<CounterName, counter_count> names{{
    {Counter::ConnectionsAccepted, "connections_accepted", "SMTP connections let in"},
    {Counter::ConnectionsRefused, "connections_refused",
     "SMTP connections turned away by max_connections or max_connections_per_ip"},
    {Counter::TrapHits, "trap_hits",
     "connections to a trap listener (refuse, defer, tarpit), counted when they end"},
    {Counter::TrapHitsCounting, "trap_hits_counting",
     "trap and stale-MX hits that count toward the blacklist (RCPT named one of our domains, "
     "or the listener's count_hits)"},
    {Counter::StaleMxHits, "stale_mx_hits",
     "contacts to a listener marked stale_since, after its grace"},
    {Counter::TarpitBytes, "tarpit_bytes", "bytes a tarpit listener sent, one at a time"},
    {Counter::MessagesAccepted, "messages_accepted", "messages acknowledged with 250 (on disk)"},
    {Counter::RecipientsAccepted, "recipients_accepted", "RCPT answered 250"},
    {Counter::VerifyListed, "verify_listed", "recipients found in a recipient list"},
    {Counter::VerifyCachedValid, "verify_cached_valid",
     "recipients the verification cache knew to exist"},
    {Counter::VerifyCachedInvalid, "verify_cached_invalid",
     "recipients the verification cache knew not to exist"},
    {Counter::CalloutsValid, "callouts_valid",
     "recipients the primary said exist when asked (2xx)"},
    {Counter::CalloutsInvalid, "callouts_invalid",
     "recipients the primary refused when asked (5xx)"},
    {Counter::CalloutsUnknown, "callouts_unknown",
     "recipients the primary could not be asked about (4xx, down, unreachable)"},
    {Counter::UnverifiedAccepted, "unverified_accepted",
     "recipients accepted although nothing could tell (unverified = accept, or "
     "verified-sender and the sender is verified)"},
    {Counter::UnverifiedDeferred, "unverified_deferred",
     "recipients deferred because nothing could tell (unverified = defer)"},
    {Counter::UnverifiedSenderDeferred, "unverified_sender_deferred",
     "recipients deferred because nothing could tell and the sender is not verified "
     "(unverified = verified-sender)"},
    {Counter::SenderDomainUnchecked, "sender_domain_unchecked",
     "transactions that went on to DATA with recipients taken while DNS could not check the "
     "sender's domain (sender_domain_dns_trouble = accept)"},
    {Counter::CalloutConnections, "callout_connections", "connections opened to ask a primary"},
    {Counter::CalloutNullSenderRefused, "callout_null_sender_refused",
     "callouts whose MAIL FROM:<> the primary refused: set [verify] sender"},
    {Counter::RecipientsDelivered, "recipients_delivered",
     "recipients delivered: to a primary, or a notice to its sender's MX"},
    {Counter::RecipientsDeferred, "recipients_deferred",
     "delivery attempts of a recipient that must be retried"},
    {Counter::RecipientsFailed, "recipients_failed",
     "recipients given up: refused for good or expired"},
    {Counter::BouncesSent, "bounces_sent", "failed recipients reported in a bounce"},
    {Counter::BouncesSuppressed, "bounces_suppressed",
     "failed recipients not reported: null sender, NOTIFY or the bounce policy"},
    {Counter::DelayNotices, "delay_notices", "delay notices queued"},
    {Counter::SenderCalloutCacheHits, "sender_callout_cache_hits",
     "senders the sender callout answered from its cache, without asking an MX"},
    {Counter::SenderCalloutCacheMisses, "sender_callout_cache_misses",
     "senders the sender callout did not know: their MX was asked (or the rate limit said no)"},
    {Counter::GreylistMemoryHits, "greylist_memory_hits",
     "greylist passes (a passed triplet, an allowlisted network) answered from memory, "
     "without asking the state store"},
    {Counter::BlacklistUnchecked, "blacklist_unchecked",
     "recipients accepted without the blacklist check: the state store failed or was slow"},
    {Counter::CalloutCacheHits, "callout_cache_hits",
     "recipients the verification cache answered (valid or invalid) without asking the primary"},
    {Counter::CalloutCacheMisses, "callout_cache_misses",
     "recipients the verification cache did not know: the primary was asked"},
    {Counter::MessagesDelivered, "messages_delivered",
     "messages removed from the queue with every recipient delivered"},
    {Counter::MessagesDeferred, "messages_deferred",
     "delivery attempts that left a message with recipients waiting for a retry"},
    {Counter::MessagesBounced, "messages_bounced",
     "messages removed from the queue with at least one recipient given up"},
    {Counter::ProxyRefused, "proxy_refused",
     "connections to a proxy_protocol listener closed before the banner: not from a trusted "
     "proxy, or no valid PROXY header in time"},
    {Counter::StateStoreErrors, "state_store_errors",
     "state store calls that failed: Redis down, slower than [state] timeout, or refusing"},
    {Counter::StateFallbackCalls, "state_fallback_calls",
     "state store calls Redis failed (down or slow) that the local store ([state] path) answered"},
    {Counter::StateWritesJournaled, "state_writes_journaled",
     "writes answered by the local store while Redis failed, journaled to be written through"},
    {Counter::StateWritesReplayed, "state_writes_replayed",
     "journaled writes written through to Redis once it answered again"},
    {Counter::StateJournalDropped, "state_journal_dropped",
     "journaled writes given up: the journal was full (the oldest goes) or Redis refused one"},
}};

} // namespace

std::vector<CounterSample> Counters::samples() const {
  std::vector<CounterSample> out;
  out.reserve(names.size());
  for (const auto& n : names) {
    out.push_back({n.name, n.help, value(n.counter)});
  }
  return out;
}

void Counters::refused(std::string_view stage, std::string_view decision, std::string_view check) {
  std::string key;
  key.reserve(stage.size() + decision.size() + check.size() + 2);
  key.append(stage).append(" ").append(decision).append(" ").append(check);
  const std::lock_guard lock(mutex_);
  ++refusals_[key];
}

std::map<std::string, std::uint64_t> Counters::refusals() const {
  const std::lock_guard lock(mutex_);
  return {refusals_.begin(), refusals_.end()};
}

std::string_view to_string(SessionOutcome outcome) {
  switch (outcome) {
  case SessionOutcome::Mail:
    return "mail";
  case SessionOutcome::NoMail:
    return "no_mail";
  case SessionOutcome::Timeout:
    return "timeout";
  case SessionOutcome::Refused:
    return "refused";
  case SessionOutcome::Errors:
    return "errors";
  case SessionOutcome::Dropped:
    break;
  }
  return "dropped";
}

ListenerCount& Counters::listener(std::string_view name, std::string_view kind) {
  const std::lock_guard lock(listeners_mutex_);
  for (auto& l : listeners_) {
    if (l.listener == name && l.kind == kind) {
      return l;
    }
  }
  auto& made = listeners_.emplace_back();
  made.listener = std::string(name);
  made.kind = std::string(kind);
  return made;
}

std::vector<Counters::ListenerSample> Counters::listeners() const {
  const std::lock_guard lock(listeners_mutex_);
  std::vector<ListenerSample> out;
  for (const auto& l : listeners_) {
    out.push_back({l.listener, l.kind, l.connections.load(std::memory_order_relaxed)});
  }
  return out;
}

} // namespace backstop::metrics
