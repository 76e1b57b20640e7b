// pipeline: the policy checks a session asks at each SMTP stage (connect, HELO, MAIL, RCPT,
// DATA), in order. Required checks (relay domains, routing, recipient verification) always
// run; filter checks (DNSBL, HELO, SPF, greylisting, ...) are skipped once an allowlist
// permits. The first refusal of a check in enforce mode is the answer; in warn mode it is
// logged and counted, and the mail goes on. The pipeline, not the check, records what each
// check learnt in the session context. The session sends only the reply it is given.
#pragma once

#include "mail/verdict.hpp"
#include "metrics/counters.hpp"
#include "policy/check.hpp"
#include "policy/session_context.hpp"
#include "policy/stage.hpp"

#include <asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::policy {

enum class CheckMode { Enforce, Warn };

struct CheckEntry {
  std::shared_ptr<const Check> check;
  int order = 0;         // position: lower first (registered checks: CheckType::order)
  bool required = false; // an allowlist's permit does not skip it
  CheckMode mode = CheckMode::Enforce;
  // Per recipient domain ([checks.<name>.domain."<d>"] mode). A refusal before RCPT by a
  // check that has these is held and applied at each RCPT with that recipient's mode.
  std::map<std::string, CheckMode, std::less<>> domain_modes{};
};

struct PipelineParts {
  std::vector<CheckEntry> checks; // in the order they are asked
  double reject_score = 0;        // [checks] reject_score: a sum this high refuses; 0 = off
  std::shared_ptr<spdlog::logger> log{};
  metrics::Counters* counters = nullptr;
};

class Pipeline {
public:
  explicit Pipeline(PipelineParts parts) : parts_(std::move(parts)) {}

  // The answer for this stage; the session has set what it knows (client, HELO, sender,
  // recipient) in context first. Records facts, scores, headers and verdicts in context.
  asio::awaitable<mail::Verdict> decide(Stage stage, SessionContext& context) const;
  // The checks in order, "!" marking required ones, "(warn)" and "(per-domain)" their modes:
  // logged at start and reload.
  std::vector<std::string> describe() const;

private:
  asio::awaitable<mail::Verdict> run_checks(Stage stage, SessionContext& context) const;
  void prefetch(Stage stage, const SessionContext& context) const;
  std::optional<mail::Verdict> apply_held(SessionContext& context) const;
  CheckMode mode_for(const CheckEntry& entry, const SessionContext& context, Stage stage) const;
  void record(Stage stage, const mail::Verdict& verdict, SessionContext& context,
              bool warned) const;
  void log_warning(Stage stage, const mail::Verdict& verdict, const SessionContext& context) const;
  std::optional<mail::Verdict> over_score(const SessionContext& context) const;

  PipelineParts parts_;
};

} // namespace backstop::policy
