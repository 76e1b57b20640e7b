// counters: what the server has done since it started, as numbers an operator can watch
// (`backstop stats`; a metrics endpoint can read the same). Any thread may count: relaxed
// atomics, since every number stands alone and nothing is ordered by them.
#pragma once

#include "metrics/histogram.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace backstop::metrics {

enum class Counter : std::size_t {
  ConnectionsAccepted,
  ConnectionsRefused,
  TrapHits,         // connections to a trap listener (refuse, defer, tarpit), at their end
  TrapHitsCounting, // trap and stale-MX hits that count toward the blacklist
  StaleMxHits,      // contacts to a listener after its stale_since and grace
  TarpitBytes,      // bytes a tarpit stuttered
  MessagesAccepted,
  RecipientsAccepted,
  VerifyListed,
  VerifyCachedValid,
  VerifyCachedInvalid,
  CalloutsValid,
  CalloutsInvalid,
  CalloutsUnknown,
  UnverifiedAccepted,
  UnverifiedDeferred,
  UnverifiedSenderDeferred,
  SenderDomainUnchecked,
  CalloutConnections,
  CalloutNullSenderRefused,
  RecipientsDelivered,
  RecipientsDeferred,
  RecipientsFailed,
  BouncesSent,
  BouncesSuppressed,
  DelayNotices,
  SenderCalloutCacheHits,
  SenderCalloutCacheMisses,
  GreylistMemoryHits,
  BlacklistUnchecked,
  CalloutCacheHits,     // recipient verification answered by the cache (valid or invalid)
  CalloutCacheMisses,   // ... not in the cache: the primary was asked
  MessagesDelivered,    // every recipient delivered, the message removed
  MessagesDeferred,     // a delivery attempt left recipients waiting
  MessagesBounced,      // removed with at least one recipient given up
  ProxyRefused,         // proxy listeners: an untrusted peer, a malformed or missing PROXY header
  StateStoreErrors,     // state store calls that failed (Redis down, slow or refusing)
  StateFallbackCalls,   // ... that the local store answered instead (state/fallback_store.hpp)
  StateWritesJournaled, // writes answered locally, kept for Redis
  StateWritesReplayed,  // ... written through once Redis answered again
  StateJournalDropped,  // ... given up: the journal was full, or Redis refused one
};
inline constexpr std::size_t counter_count =
    static_cast<std::size_t>(Counter::StateJournalDropped) + 1;

// How an SMTP session ended, one label value each of backstop_sessions_total.
enum class SessionOutcome : std::size_t {
  Mail,    // at least one message accepted
  NoMail,  // QUIT (or a command that ends it) without a message
  Timeout, // the client was too slow
  Refused, // refused at connect: a check, or a connection limit
  Errors,  // too many errors
  Dropped, // the client closed or reset the connection without QUIT
};
inline constexpr std::size_t session_outcome_count =
    static_cast<std::size_t>(SessionOutcome::Dropped) + 1;
std::string_view to_string(SessionOutcome outcome);

// Connections accepted on one listener (an address of [smtp] listen or a [[listener]]).
struct ListenerCount {
  std::string listener; // its name, or its address
  std::string kind;     // smtp, refuse, defer, tarpit
  std::atomic<std::uint64_t> connections{0};
  void accepted() noexcept { connections.fetch_add(1, std::memory_order_relaxed); }
};

struct CounterSample {
  std::string_view name; // snake_case, stable: scripts and dashboards use it
  std::string_view help;
  std::uint64_t value;
};

class Counters {
public:
  void add(Counter counter, std::uint64_t n = 1) noexcept {
    values_[static_cast<std::size_t>(counter)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value(Counter counter) const noexcept {
    return values_[static_cast<std::size_t>(counter)].load(std::memory_order_relaxed);
  }
  std::vector<CounterSample> samples() const;

  // A MAIL or RCPT refused by a policy check: stage "MAIL"/"RCPT", decision
  // "reject"/"defer", and the check's name (relay_domains, recipient_verify, ...).
  void refused(std::string_view stage, std::string_view decision, std::string_view check);
  // Keyed "stage decision check", e.g. "RCPT reject relay_domains".
  std::map<std::string, std::uint64_t> refusals() const;

  void session_ended(SessionOutcome outcome) noexcept {
    sessions_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t sessions(SessionOutcome outcome) const noexcept {
    return sessions_[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
  }

  // The count of a listener, made once when it is set up (stable address: a reload asking
  // for the same listener and kind gets the same one).
  ListenerCount& listener(std::string_view name, std::string_view kind);
  struct ListenerSample {
    std::string listener;
    std::string kind;
    std::uint64_t connections = 0;
  };
  std::vector<ListenerSample> listeners() const;

  // Distributions, observed by the parts that measure them (handed a pointer by app).
  Histogram dns_query_seconds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  Histogram fsync_seconds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                          0.01,   0.025,   0.05,   0.1,   0.25,   1};
  Histogram fsync_batch_records{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

private:
  std::array<std::atomic<std::uint64_t>, session_outcome_count> sessions_{};
  mutable std::mutex listeners_mutex_; // taken when a listener is set up and at a scrape
  std::deque<ListenerCount> listeners_;
  std::array<std::atomic<std::uint64_t>, counter_count> values_{};
  mutable std::mutex mutex_; // refusals: few distinct keys, counted at refusal rate only
  std::map<std::string, std::uint64_t, std::less<>> refusals_;
};

// Counts when there is something to count into: tools and unit tests run without counters.
inline void count(Counters* counters, Counter counter, std::uint64_t n = 1) noexcept {
  if (counters != nullptr) {
    counters->add(counter, n);
  }
}

} // namespace backstop::metrics
