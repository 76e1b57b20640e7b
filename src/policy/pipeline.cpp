// pipeline: runs each stage's checks in order and records what they learnt.
#include "policy/pipeline.hpp"

#include "mail/replies.hpp"

namespace backstop::policy {

namespace {

const char* decision_word(mail::Decision decision) {
  return decision == mail::Decision::Reject ? "reject" : "defer";
}

bool permitted(const SessionContext& context) {
  return context.session_permitted || context.transaction_permitted;
}

} // namespace

void Pipeline::prefetch(Stage stage, const SessionContext& context) const {
  for (const auto& entry : parts_.checks) {
    if (entry.required || !permitted(context)) {
      entry.check->prefetch(stage, context);
    }
  }
}

CheckMode Pipeline::mode_for(const CheckEntry& entry, const SessionContext& context,
                             Stage stage) const {
  if (stage >= Stage::Rcpt && !entry.domain_modes.empty()) {
    if (auto it = entry.domain_modes.find(context.recipient.domain);
        it != entry.domain_modes.end()) {
      return it->second;
    }
  }
  return entry.mode;
}

void Pipeline::record(Stage stage, const mail::Verdict& verdict, SessionContext& context,
                      bool warned) const {
  for (const auto& fact : verdict.facts) {
    const bool session_wide = !is_transaction_stage(stage) || fact.key.starts_with("session.");
    (session_wide ? context.session_facts : context.transaction_facts)[fact.key] = fact.value;
  }
  (is_transaction_stage(stage) ? context.transaction_score : context.session_score) +=
      verdict.score;
  for (const auto& header : verdict.headers) {
    context.headers.push_back(header);
  }
  if (verdict.decision != mail::Decision::Accept || !verdict.reason.empty() || verdict.score != 0) {
    context.verdicts.push_back({stage, verdict.check, verdict.decision, verdict.reason, warned});
  }
}

void Pipeline::log_warning(Stage stage, const mail::Verdict& verdict,
                           const SessionContext& context) const {
  if (parts_.counters != nullptr) {
    parts_.counters->refused(stage_name(stage), "warn", verdict.check);
  }
  if (parts_.log) {
    parts_.log->info("session={} warn {} from [{}]: {} would {}: {} {}", context.session_id,
                     stage_name(stage), context.client.ip, verdict.check,
                     decision_word(verdict.decision), verdict.reply.code, verdict.reason);
  }
}

// A refusal held from before RCPT, now applied with this recipient's domain mode.
std::optional<mail::Verdict> Pipeline::apply_held(SessionContext& context) const {
  for (const auto& held : context.held) {
    const auto& entry = parts_.checks.at(held.entry);
    if (!entry.required && permitted(context)) {
      continue;
    }
    if (mode_for(entry, context, Stage::Rcpt) == CheckMode::Warn) {
      log_warning(held.stage, held.verdict, context);
      continue;
    }
    return held.verdict;
  }
  return std::nullopt;
}

std::optional<mail::Verdict> Pipeline::over_score(const SessionContext& context) const {
  if (parts_.reject_score <= 0 || context.score() < parts_.reject_score) {
    return std::nullopt;
  }
  const std::string why = "score " + std::to_string(context.score()) + " reached reject_score " +
                          std::to_string(parts_.reject_score);
  return mail::Verdict::decide(
      mail::Decision::Reject,
      mail::replies::policy_score.with_text("Message refused by policy (" + why + ")"), "score",
      why);
}

asio::awaitable<mail::Verdict> Pipeline::run_checks(Stage stage, SessionContext& context) const {
  bool stage_permitted = false;
  for (std::size_t index = 0; index < parts_.checks.size(); ++index) {
    const auto& entry = parts_.checks[index];
    if (!entry.check->runs_at(stage)) {
      continue;
    }
    if (!entry.required && (stage_permitted || permitted(context))) {
      continue;
    }
    auto verdict = co_await entry.check->check(stage, context);
    if (verdict.check.empty()) {
      verdict.check = std::string(entry.check->name());
    }
    if (verdict.decision == mail::Decision::Permit) {
      record(stage, verdict, context, false);
      context.session_permitted = context.session_permitted || stage == Stage::Connect;
      context.transaction_permitted = context.transaction_permitted || stage == Stage::Mail;
      stage_permitted = true;
      continue;
    }
    if (verdict.accepted()) {
      record(stage, verdict, context, false);
      continue;
    }
    if (stage < Stage::Rcpt && !entry.domain_modes.empty()) {
      record(stage, verdict, context, false);
      context.held.push_back({stage, index, std::move(verdict)}); // each RCPT's domain decides
      continue;
    }
    if (mode_for(entry, context, stage) == CheckMode::Warn) {
      log_warning(stage, verdict, context);
      record(stage, verdict, context, true);
      continue;
    }
    record(stage, verdict, context, false);
    co_return verdict;
  }
  if (stage == Stage::Rcpt && !stage_permitted) {
    if (auto held = apply_held(context)) {
      co_return std::move(*held);
    }
  }
  if (stage == Stage::Rcpt && !permitted(context) && !stage_permitted) {
    if (auto refusal = over_score(context)) {
      co_return std::move(*refusal);
    }
  }
  co_return mail::Verdict::accept("pipeline");
}

asio::awaitable<mail::Verdict> Pipeline::decide(Stage stage, SessionContext& context) const {
  prefetch(stage, context);
  co_return co_await run_checks(stage, context);
}

std::vector<std::string> Pipeline::describe() const {
  std::vector<std::string> out;
  for (const auto& entry : parts_.checks) {
    std::string text = (entry.required ? "!" : "") + std::string(entry.check->name());
    if (entry.mode == CheckMode::Warn) {
      text += "(warn)";
    }
    if (!entry.domain_modes.empty()) {
      text += "(per-domain)";
    }
    out.push_back(std::move(text));
  }
  return out;
}

} // namespace backstop::policy
