// recorder: turns a trap hit into a state::Offense (TrapHit, or StaleMx once the listener's
// grace has passed), posts it to the offender store without waiting, counts it and logs one
// line. Whether it counts toward the blacklist is decided here, by the anti-poisoning rule:
// a client that named one of our domains in RCPT, or a listener that counts every hit
// (count_hits, for kinds that see no RCPT).
#pragma once

#include "state/offender_store.hpp"
#include "trap/trap_listener.hpp"

#include <optional>
#include <string>

namespace backstop::trap {

struct Hit {
  std::string address; // the client, unmapped
  std::string helo;
  std::string sender_domain;
  std::string recipient_domain;
  bool named_ours = false; // RCPT named one of our backed-up domains
  std::string detail;      // what happened, in words
};

class Recorder {
public:
  Recorder(const TrapListener& listener, const TrapServices& services)
      : listener_(listener), services_(services) {}

  // The offense a hit at unix time now makes; nullopt when it is none (an SMTP listener
  // still within its grace).
  std::optional<state::Offense> offense(const Hit& hit, std::int64_t now) const;
  // Records, counts and logs a hit (any thread).
  void record(const Hit& hit) const;

private:
  const TrapListener& listener_;
  const TrapServices& services_;
};

} // namespace backstop::trap
