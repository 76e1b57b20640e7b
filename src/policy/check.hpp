// check: one policy check, e.g. DNSBL, HELO, SPF, greylisting. The pipeline asks it at the
// stages it runs at, in order, with the session's context; it answers with a Verdict and
// nothing else (no socket, no writes to the context). A check that waits on DNS or the
// state store awaits it; the session's loop serves other sessions meanwhile.
#pragma once

#include "mail/verdict.hpp"
#include "policy/session_context.hpp"
#include "policy/stage.hpp"

#include <asio/awaitable.hpp>
#include <string_view>

namespace backstop::policy {

class Check {
public:
  virtual ~Check() = default;
  // The name of its config section ([checks.<name>]), log lines and refusal counters.
  virtual std::string_view name() const = 0;
  virtual bool runs_at(Stage stage) const = 0;
  // Called at every stage before any check of that stage is asked: start lookups whose
  // inputs are known now (on context.executor, detached), so that they run at the same
  // time as each other and a later check() finds them answered or in flight.
  virtual void prefetch(Stage stage, const SessionContext& context) const {}
  virtual asio::awaitable<mail::Verdict> check(Stage stage,
                                               const SessionContext& context) const = 0;
};

} // namespace backstop::policy
