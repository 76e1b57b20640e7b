// verdict: what a policy check decides. A check that cannot tell defers (4xx) and never
// passes. Permit stops the checks of its stage (and, at connect, of the whole session):
// how allowlists win. A score adds to the session's sum without deciding. The check's name
// and reason go to the reply, log and metric; facts and headers are what the check learnt,
// recorded by the pipeline for the checks after it and for the message.
#pragma once

#include "mail/reply.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace backstop::mail {

enum class Decision { Accept, Reject, Defer, Permit };

struct Fact {
  std::string key; // e.g. "ptr", "spf.mfrom" (see policy/session_context.hpp)
  std::string value;
};

struct Verdict {
  Decision decision = Decision::Accept;
  Reply reply;                        // what the session sends when decision is Reject or Defer
  std::string check;                  // e.g. "relay_domains"
  std::string reason;                 // for the log, may say more than the reply
  std::chrono::milliseconds delay{0}; // wait this long before replying (tarpit)
  bool disconnect = false;            // close the connection after the reply
  double score = 0;                   // added to the session's score
  std::vector<Fact> facts{};          // recorded in the session context
  std::vector<std::string> headers{}; // prepended to the accepted message, without CRLF

  bool accepted() const { return decision == Decision::Accept || decision == Decision::Permit; }
  bool refused() const { return !accepted(); }
  static Verdict decide(Decision decision, Reply reply, std::string check, std::string reason) {
    Verdict v;
    v.decision = decision;
    v.reply = std::move(reply);
    v.check = std::move(check);
    v.reason = std::move(reason);
    return v;
  }
  static Verdict accept(std::string check, std::string reason = {}) {
    return decide(Decision::Accept, {}, std::move(check), std::move(reason));
  }
  static Verdict permit(std::string check, std::string reason) {
    return decide(Decision::Permit, {}, std::move(check), std::move(reason));
  }
  static Verdict scored(std::string check, double score, std::string reason) {
    auto v = accept(std::move(check), std::move(reason));
    v.score = score;
    return v;
  }
};

} // namespace backstop::mail
