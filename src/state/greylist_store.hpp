// greylist_store: what greylisting remembers. A triplet (client network, sender,
// recipient) is first seen, retried too early or passed; a network whose triplets passed
// often enough is allowlisted for a while; a sender domain that passed with SPF pass may
// skip greylisting later. Every operation a check needs is ONE atomic call with the
// lifetimes given as data, so that a Redis backend is a drop-in: record_attempt is one Lua
// script over three keys (network, domain, triplet) with PEXPIREAT from the *_until fields,
// as it is one transaction in SQLite. Calls block: run them on the store's own thread.
#pragma once

#include "state/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace backstop::state {

struct Triplet {
  std::string network;   // "192.0.2.0/24", "2001:db8:1:2::/64"
  std::string sender;    // "user@example.org" lower case, "<>" for the null sender
  std::string recipient; // "user@example.net" lower case
};

// The rules of one attempt, in seconds; passed with every call (TTLs as data).
struct GreylistRules {
  std::int64_t delay = 300;                 // a new triplet is deferred this long
  std::int64_t retry_window = 2 * 86400;    // ... and forgotten if not retried within this
  std::int64_t lifetime = 35 * 86400;       // a passed triplet lives this long after its last pass
  std::uint64_t allow_after = 0;            // passes of a network that allowlist it; 0 = never
  std::int64_t allow_lifetime = 35 * 86400; // the network allowlist (and its count) after a pass
  bool remember_domains = false;            // SPF-pass senders' domains that passed skip later
  std::int64_t domain_lifetime = 35 * 86400;
};

struct GreylistAttempt {
  Triplet triplet;
  std::string sender_domain; // "" for the null sender
  bool spf_pass = false;     // the sender's SPF result was pass
  std::int64_t now = 0;      // unix seconds
};

enum class GreylistStatus {
  NetworkAllowed, // the client's network is auto-allowlisted: accept, triplet untouched
  DomainKnown,    // SPF pass from a sender domain that passed before: accept
  New,            // first seen (or its earlier record expired): defer
  Early,          // seen, but the delay has not passed yet: defer
  Passed,         // retried after the delay, or passed before: accept
};

struct TripletState {
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
  std::uint64_t passes = 0;
  std::int64_t expires_at = 0; // the record is forgotten from then on
};

struct GreylistOutcome {
  GreylistStatus status = GreylistStatus::New;
  TripletState triplet;             // after this attempt (untouched for the two skips)
  std::int64_t retry_at = 0;        // New/Early: the first second a retry passes
  std::uint64_t network_passes = 0; // the network's passes within allow_lifetime
  std::int64_t allowed_until = 0;   // the network's allowlist end; 0 = not allowlisted
};

inline bool accepted(GreylistStatus status) {
  return status != GreylistStatus::New && status != GreylistStatus::Early;
}

inline const char* to_string(GreylistStatus status) {
  switch (status) {
  case GreylistStatus::NetworkAllowed:
    return "network allowlisted";
  case GreylistStatus::DomainKnown:
    return "known sender domain";
  case GreylistStatus::New:
    return "new";
  case GreylistStatus::Early:
    return "retried too early";
  case GreylistStatus::Passed:
    break;
  }
  return "passed";
}

class GreylistStore {
public:
  virtual ~GreylistStore() = default;

  // Atomically: an allowlisted network or a known SPF-pass domain accepts (and extends its
  // lifetime); otherwise the triplet is created, found early, or passes. A pass counts for
  // the network (allowlisting it at allow_after) and remembers the sender domain when the
  // attempt had SPF pass and rules.remember_domains.
  virtual Result<GreylistOutcome> record_attempt(const GreylistAttempt& attempt,
                                                 const GreylistRules& rules) = 0;
  // Removes expired triplets, networks and domains (Redis: keys expire by themselves).
  virtual Result<std::size_t> erase_expired(std::int64_t now) = 0;
};

} // namespace backstop::state
