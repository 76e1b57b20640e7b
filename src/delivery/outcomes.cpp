// outcomes: what a recipient's result does to the queued message: delivered, retry later,
// or failed; when nothing is pending any more the message leaves the queue, after its
// bounce (if one is due) has been queued. Delay notices are sent once per message.
#include "delivery/dsn_builder.hpp"
#include "delivery/scheduler.hpp"

#include <algorithm>

namespace backstop::delivery {

using metrics::Counter;

namespace {
// "550 5.1.1 <x>: user unknown" in answer to this recipient's own RCPT: an RFC 3463
// addressing status (X.1.Y) about the mailbox. Not a refusal of the sender (X.1.7, X.1.8,
// Postfix's "Sender address rejected"), nor a MAIL or DATA reply copied to every recipient.
bool recipient_unknown(const RecipientOutcome& outcome) {
  const std::string& reply = outcome.reply;
  if (!outcome.at_rcpt || reply.size() < 9 || reply.compare(3, 5, " 5.1.") != 0) {
    return false;
  }
  const bool about_sender = reply.compare(3, 7, " 5.1.7 ") == 0 ||
                            reply.compare(3, 7, " 5.1.8 ") == 0 ||
                            reply.find("Sender address rejected") != std::string::npos;
  return !about_sender;
}
} // namespace

std::vector<std::size_t> Scheduler::pending_for(const Tracked& t, const std::string& domain) const {
  std::vector<std::size_t> out;
  const auto& env = t.message.envelope;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    if (env.recipients[i].address.domain == domain &&
        t.message.state.recipients[i].status == queue::RecipientStatus::Pending) {
      out.push_back(i);
    }
  }
  return out;
}

void Scheduler::apply(Tracked& t, const std::vector<std::size_t>& indices,
                      const TransactionResult& result, const std::string& host) {
  const std::int64_t now = clock_.now_unix();
  const std::string id = t.message.id.to_string();
  // The summary of each recipient's attempt, as Postfix writes it: who, where, how long.
  const std::string from = t.message.envelope.sender.to_string();
  const std::int64_t delay = now - t.message.envelope.arrival_unix;
  for (std::size_t k = 0; k < indices.size() && k < result.recipients.size(); ++k) {
    const auto& outcome = result.recipients[k];
    auto& s = t.message.state.recipients[indices[k]];
    const std::string to = t.message.envelope.recipients[indices[k]].address.to_string();
    s.remote = host;
    if (outcome.delivered()) {
      s.status = queue::RecipientStatus::Delivered;
      s.last_error.clear();
      metrics::count(options_.counters, Counter::RecipientsDelivered);
      log_->info("{}: from=<{}> to=<{}> relay={} delay={}s status=sent ({})", id, from, to, host,
                 delay, outcome.reply);
    } else if (outcome.permanent()) {
      s.status = queue::RecipientStatus::Failed;
      s.last_error = outcome.reply;
      metrics::count(options_.counters, Counter::RecipientsFailed);
      log_->info("{}: from=<{}> to=<{}> relay={} delay={}s status=bounced ({})", id, from, to, host,
                 delay, outcome.reply);
      if (recipient_unknown(outcome) && options_.on_unknown_recipient) {
        options_.on_unknown_recipient(t.message.envelope.recipients[indices[k]].address,
                                      outcome.reply);
      }
    } else {
      s.attempts++;
      s.next_attempt_unix = schedule_.next_attempt(now, s.attempts);
      s.last_error = outcome.reply;
      metrics::count(options_.counters, Counter::RecipientsDeferred);
      log_->info("{}: from=<{}> to=<{}> relay={} delay={}s status=deferred ({})", id, from, to,
                 host, delay, outcome.reply);
    }
  }
}

void Scheduler::defer(Tracked& t, const std::string& domain, const std::string& error,
                      std::int64_t retry_at) {
  for (auto i : pending_for(t, domain)) {
    auto& s = t.message.state.recipients[i];
    s.attempts++;
    s.next_attempt_unix = retry_at;
    s.last_error = error;
    metrics::count(options_.counters, Counter::RecipientsDeferred);
  }
}

void Scheduler::fail(Tracked& t, const std::string& domain, const std::string& error) {
  for (auto i : pending_for(t, domain)) {
    auto& s = t.message.state.recipients[i];
    s.status = queue::RecipientStatus::Failed;
    s.last_error = error;
    metrics::count(options_.counters, Counter::RecipientsFailed);
    log_->info("{}: from=<{}> to=<{}> delay={}s status=bounced ({})", t.message.id.to_string(),
               t.message.envelope.sender.to_string(),
               t.message.envelope.recipients[i].address.to_string(),
               clock_.now_unix() - t.message.envelope.arrival_unix, error);
  }
}

void Scheduler::queue_notice(const Tracked& t, DsnAction action,
                             const std::vector<std::size_t>& which) {
  auto original = spool_.read_body(t.message.id);
  DsnInput in;
  in.reporting_mta = options_.hostname;
  in.id = t.message.id;
  in.envelope = &t.message.envelope;
  in.original_message = original ? original.value() : std::string();
  in.action = action;
  in.now_unix = clock_.now_unix();
  in.retry_until_unix = t.message.envelope.arrival_unix + options_.retry.max_lifetime.count();
  for (auto i : which) {
    in.recipients.push_back(
        dsn_recipient(t.message.envelope.recipients[i], t.message.state.recipients[i], action));
  }
  auto body = spool_.new_body();
  if (!body.append(build_dsn(in))) {
    log_->error("{}: cannot write the delivery status notice", t.message.id.to_string());
    return;
  }
  const auto notice_id = spool_.allocate_id();
  log_->info("{}: sender {} notice {} queued for <{}>", t.message.id.to_string(),
             action == DsnAction::Failed ? "non-delivery" : "delay", notice_id.to_string(),
             t.message.envelope.sender.to_string());
  spool_.submit(notice_id, dsn_envelope(in, "127.0.0.1"), std::move(body),
                [log = log_, notice_id](queue::CommitResult r) {
                  if (!r.ok()) {
                    log->error("{}: notice not queued: {}", notice_id.to_string(), r.detail);
                  }
                });
}

void Scheduler::settle(Tracked& t) {
  const std::int64_t now = clock_.now_unix();
  auto& state = t.message.state;
  const auto& env = t.message.envelope;
  std::vector<std::size_t> pending, failed;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    auto& s = state.recipients[i];
    if (s.status == queue::RecipientStatus::Pending && schedule_.expired(env.arrival_unix, now)) {
      s.status = queue::RecipientStatus::Failed;
      s.last_error = expired_error(s.last_error);
      metrics::count(options_.counters, Counter::RecipientsFailed);
    }
    if (s.status == queue::RecipientStatus::Pending) {
      pending.push_back(i);
    } else if (s.status == queue::RecipientStatus::Failed &&
               notices_.failure_notice(env, env.recipients[i])) {
      failed.push_back(i);
    } else if (s.status == queue::RecipientStatus::Failed) {
      ++bounces_suppressed_;
      metrics::count(options_.counters, Counter::BouncesSuppressed);
      log_->info("{}: to=<{}> no bounce ({}); {} suppressed since start", t.message.id.to_string(),
                 env.recipients[i].address.to_string(),
                 notices_.why_no_notice(env, env.recipients[i]), bounces_suppressed_);
    }
  }
  const mail::QueueId id = t.message.id;
  auto report = [log = log_, id](queue::CommitResult r) {
    if (!r.ok()) {
      log->error("{}: queue update failed: {}", id.to_string(), r.detail);
    }
  };
  if (!pending.empty()) {
    std::vector<std::size_t> delayed;
    if (state.delay_notice_unix == 0 && schedule_.delay_notice_due(env.arrival_unix, now)) {
      for (auto i : pending) {
        if (notices_.delay_notice(env, env.recipients[i])) {
          delayed.push_back(i);
        }
      }
      state.delay_notice_unix = now;
      if (!delayed.empty()) {
        metrics::count(options_.counters, Counter::DelayNotices);
        queue_notice(t, DsnAction::Delayed, delayed);
      }
    }
    metrics::count(options_.counters, Counter::MessagesDeferred);
    spool_.update_state(id, state, report);
    return;
  }
  const bool gave_up = std::any_of(state.recipients.begin(), state.recipients.end(), [](auto& r) {
    return r.status == queue::RecipientStatus::Failed;
  });
  metrics::count(options_.counters,
                 gave_up ? Counter::MessagesBounced : Counter::MessagesDelivered);
  if (!failed.empty()) {
    bounces_sent_ += failed.size();
    metrics::count(options_.counters, Counter::BouncesSent, failed.size());
    log_->info("{}: bounce for {} recipient(s); {} bounced since start", id.to_string(),
               failed.size(), bounces_sent_);
    queue_notice(t, DsnAction::Failed, failed); // queued before the removal below
  }
  log_->info("{}: removed", id.to_string());
  spool_.remove(id, report);
  forget(id);
}

} // namespace backstop::delivery
