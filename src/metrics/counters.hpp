// counters: what the server has done since it started, as numbers an operator can watch
// (`backstop stats`; a metrics endpoint can read the same). Any thread may count: relaxed
// atomics, since every number stands alone and nothing is ordered by them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
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
  StateStoreErrors, // state store calls that failed (Redis down, slow or refusing)
};
inline constexpr std::size_t counter_count =
    static_cast<std::size_t>(Counter::StateStoreErrors) + 1;

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

private:
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
