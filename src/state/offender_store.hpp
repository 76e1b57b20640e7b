// offender_store: what backstop learns about clients that abuse a backup MX. An offense is a
// "try the primary" deferral, a trap hit, a skipped primary or a contact to a stale MX
// address; enough counting offenses within a window list the address on the blacklist for
// a while. The persistence pass (a deferred sender that keeps retrying is let through) counts
// retries here too. Every operation is ONE atomic call with its windows and lifetimes as
// data, so a Redis backend is a drop-in (issue 16): record() is one Lua script over a sorted
// set of the address's offenses and its listing key with a TTL. Calls block: run them on the
// store's own thread (state/async_offender_store.hpp).
#pragma once
#include "state/error.hpp"
#include "state/greylist_store.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backstop::state {

enum class OffenseKind {
  PrimaryDeferral, // told "try the primary MX first" while the primary was up
  TrapHit,         // contacted a trap listener (refuse, defer, tarpit)
  SkippedPrimary,  // contacted a less-preferred MX and no more-preferred one
  StaleMx,         // contacted a listener whose MX record was withdrawn long enough ago
};

inline const char* to_string(OffenseKind kind) {
  switch (kind) {
  case OffenseKind::PrimaryDeferral:
    return "primary-deferral";
  case OffenseKind::TrapHit:
    return "trap";
  case OffenseKind::SkippedPrimary:
    return "skipped-primary";
  case OffenseKind::StaleMx:
    break;
  }
  return "stale-mx";
}

inline std::optional<OffenseKind> offense_kind_from(std::string_view text) {
  for (auto kind : {OffenseKind::PrimaryDeferral, OffenseKind::TrapHit, OffenseKind::SkippedPrimary,
                    OffenseKind::StaleMx}) {
    if (text == to_string(kind)) {
      return kind;
    }
  }
  return std::nullopt;
}

// A span of seconds in the largest unit that divides it: "1 d", "90 m", "45 s".
inline std::string seconds_in_words(std::int64_t seconds) {
  for (const auto& [unit, size] : {std::pair{"d", 86400}, {"h", 3600}, {"m", 60}}) {
    if (seconds != 0 && seconds % size == 0) {
      return std::to_string(seconds / size) + " " + unit;
    }
  }
  return std::to_string(seconds) + " s";
}

struct Offense {
  std::string address; // the client, textual and unmapped ("192.0.2.7", "2001:db8::7")
  std::int64_t at = 0; // unix seconds
  OffenseKind kind = OffenseKind::PrimaryDeferral;
  std::string listener;         // where: "smtp 127.0.0.2:25", "refuse 127.0.0.9:25"
  std::string helo;             // "" when not known yet
  std::string sender_domain;    // "" when not known (or the null sender)
  std::string recipient_domain; // "" when not known
  std::string detail;           // the evidence in words: "no contact to mx1.example.org in 1 h"
  // The client's forward-confirmed PTR name (facts ptr / ptr_confirmed = "yes"); "" when not
  // known. The blacklist's allowlist of large senders' PTR suffixes matches it.
  std::string ptr;
  // false: kept as evidence only and never counted toward a listing (anti-poisoning: a trap
  // hit by a client that named none of our domains)
  bool counts = true;
};

// The blacklist's rules, in seconds; passed with every call (lifetimes as data).
struct BlacklistRules {
  std::uint64_t threshold = 5;             // counting offenses within window that list
  std::int64_t window = 86400;             // ... the address
  std::int64_t listing = 7 * 86400;        // how long an automatic listing lasts
  std::int64_t keep_offenses = 30 * 86400; // evidence is forgotten after this
};

struct Listing {
  std::string address;
  std::int64_t listed_at = 0;
  std::int64_t expires_at = 0; // 0 = never (a manual listing without an end)
  std::string reason;          // "5 offenses within 1 d", or the operator's words
  bool manual = false;
};

struct RecordOutcome {
  std::uint64_t counting_in_window = 0; // counting offenses of the address within the window
  std::optional<Listing> listed;        // the listing, when the address is listed (now or before)
  bool newly_listed = false;            // this offense reached the threshold
};

// The persistence pass: how often one deferred (network, sender, recipient) came back.
struct RetryHistory {
  std::uint64_t attempts = 0; // this one included
  std::int64_t first_at = 0;  // unix seconds of the first deferral still remembered
};

class OffenderStore {
public:
  virtual ~OffenderStore() = default;
  // Atomically: stores the offense, counts the address's counting offenses within
  // rules.window, and lists the address for rules.listing when that reaches rules.threshold
  // (an existing listing is kept, not shortened).
  virtual Result<RecordOutcome> record(const Offense& offense, const BlacklistRules& rules) = 0;
  // The address's listing, unless it expired by now.
  virtual Result<std::optional<Listing>> listing(const std::string& address, std::int64_t now) = 0;
  // listing() of each address at its time, in order: several sessions' reads at once (Redis
  // pipelines them into one round trip; SQLite reads each in turn).
  struct ListingQuery {
    std::string address;
    std::int64_t now = 0;
  };
  virtual Result<std::vector<Result<std::optional<Listing>>>>
  listing_each(const std::vector<ListingQuery>& queries) {
    std::vector<Result<std::optional<Listing>>> out;
    out.reserve(queries.size());
    for (const auto& q : queries) {
      out.push_back(listing(q.address, q.now));
    }
    return out;
  }
  // Adds or replaces a listing (the operator's `blacklist add`).
  virtual Status list(const Listing& listing) = 0;
  // Removes a listing; true when there was one.
  virtual Result<bool> unlist(const std::string& address) = 0;
  // Every listing not expired by now, ordered by address.
  virtual Result<std::vector<Listing>> listings(std::int64_t now) = 0;
  // Offenses since a time, newest first, at most limit; address "" = of every address.
  virtual Result<std::vector<Offense>> offenses(const std::string& address, std::int64_t since,
                                                std::size_t limit) = 0;
  // One more deferral of a triplet: the history with this attempt counted. A triplet whose
  // first remembered attempt is older than forget_after seconds starts again.
  virtual Result<RetryHistory> record_retry(const Triplet& triplet, std::int64_t now,
                                            std::int64_t forget_after) = 0;
  // Removes expired listings, offenses older than rules.keep_offenses and forgotten retries
  // (Redis: keys expire by themselves).
  virtual Result<std::size_t> erase_expired(std::int64_t now, const BlacklistRules& rules) = 0;
};

} // namespace backstop::state
