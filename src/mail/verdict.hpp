// verdict: what a policy check decides. Three outcomes, never two: a check that cannot tell
// defers (4xx) and never passes. The check's name and reason go to the reply, log and metric.
#pragma once

#include "mail/reply.hpp"

#include <chrono>
#include <string>

namespace backstop::mail {

enum class Decision { Accept, Reject, Defer };

struct Verdict {
  Decision decision = Decision::Accept;
  Reply reply;        // what the session sends when decision != Accept (and may on Accept)
  std::string check;  // e.g. "relay_domains"
  std::string reason; // for the log, may say more than the reply
  std::chrono::milliseconds delay{0}; // wait this long before replying (tarpit)
  bool disconnect = false;            // close the connection after the reply

  bool accepted() const { return decision == Decision::Accept; }
  static Verdict decide(Decision decision, Reply reply, std::string check, std::string reason) {
    return Verdict{decision, std::move(reply), std::move(check), std::move(reason), {}, false};
  }
  static Verdict accept(std::string check) {
    return Verdict{Decision::Accept, {}, std::move(check), {}, {}, false};
  }
};

} // namespace backstop::mail
