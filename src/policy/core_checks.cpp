// core_checks: recipient domain rules, recipient verification, sender domain.
#include "policy/core_checks.hpp"

#include "mail/replies.hpp"
#include "policy/sender_routing.hpp"

#include <algorithm>
#include <charconv>

namespace backstop::policy {

namespace {

std::size_t count_of(std::string_view text) {
  std::size_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

constexpr std::string_view sender_trouble = "sender_domain.trouble";

} // namespace

mail::Verdict RecipientDomainCheck::decide(const mail::Address& recipient) const {
  auto verdict = relay_domains_.check(recipient);
  if (!verdict.accepted()) {
    return verdict;
  }
  if (reject_sender_routing_) {
    verdict = check_sender_routing(recipient);
    if (!verdict.accepted()) {
      return verdict;
    }
  }
  if (destinations_ != nullptr) {
    // Mail that could only ever expire and bounce is not taken: 451, so the sender keeps it.
    if (auto why = destinations_->nowhere(recipient.domain)) {
      return mail::Verdict::decide(
          mail::Decision::Defer,
          mail::replies::no_destination.with_text("Cannot deliver mail for " + recipient.domain +
                                                  " now: " + *why),
          "destination", *why);
    }
  }
  return mail::Verdict::accept("relay_domains");
}

PipelineParts relay_only(const std::vector<std::string>& domains, bool reject_sender_routing) {
  PipelineParts parts;
  parts.checks.push_back({std::make_shared<const RecipientDomainCheck>(
                              RelayDomains(domains), reject_sender_routing, nullptr),
                          0, true});
  return parts;
}

asio::awaitable<mail::Verdict> RecipientDomainCheck::check(Stage,
                                                           const SessionContext& context) const {
  co_return decide(context.recipient);
}

asio::awaitable<mail::Verdict> RecipientVerification::check(Stage,
                                                            const SessionContext& context) const {
  const bool sender_verified = !context.fact(facts::sender_verified).empty();
  auto verdict = co_await verifier_->check(context.recipient, sender_verified);
  if (RecipientVerifier::is_unknown_user(verdict)) {
    verdict = guard_unknown(context, std::move(verdict));
  }
  co_return verdict;
}

mail::Verdict RecipientVerification::guard_unknown(const SessionContext& context,
                                                   mail::Verdict verdict) const {
  const std::size_t count = count_of(context.fact(facts::unknown_recipients)) + 1;
  verdict.facts.push_back({std::string(facts::unknown_recipients), std::to_string(count)});
  if (guard_.max_unknown_recipients != 0 && count >= guard_.max_unknown_recipients) {
    verdict.reply = mail::replies::too_many_unknown;
    verdict.decision = mail::Decision::Defer;
    verdict.disconnect = true;
    verdict.reason += "; " + std::to_string(count) + " unknown recipients, disconnecting";
    return verdict;
  }
  if (count > 1) {
    verdict.delay = std::min(guard_.delay * static_cast<long>(count - 1), guard_.max_delay);
  }
  return verdict;
}

asio::awaitable<mail::Verdict> SenderDomainStage::check(Stage stage,
                                                        const SessionContext& context) const {
  if (stage == Stage::Mail) {
    co_return co_await at_mail(context);
  }
  co_return stage == Stage::Rcpt ? at_rcpt(context) : at_data(context);
}

asio::awaitable<mail::Verdict> SenderDomainStage::at_mail(const SessionContext& context) const {
  auto verdict = co_await check_->check(context.sender);
  // A Defer means DNS could not tell: no recipient is known yet, so when some backed-up
  // domain takes such mail each RCPT decides by its domain's sender_domain_dns_trouble.
  if (verdict.decision != mail::Decision::Defer || !trouble_.any_accepts()) {
    co_return verdict;
  }
  if (log_) {
    log_->info("session={} MAIL <{}> from [{}]: sender domain not checked ({}); each "
               "recipient's domain decides (sender_domain_dns_trouble)",
               context.session_id, context.sender.to_string(), context.client.ip, verdict.reason);
  }
  auto held = mail::Verdict::accept("sender_domain");
  held.facts.push_back({std::string(sender_trouble), verdict.reason});
  co_return held;
}

mail::Verdict SenderDomainStage::at_rcpt(const SessionContext& context) const {
  const auto trouble = context.fact(sender_trouble);
  if (trouble.empty()) {
    return mail::Verdict::accept("sender_domain");
  }
  if (!trouble_.accepts(context.recipient.domain)) {
    return mail::Verdict::decide(mail::Decision::Defer, mail::replies::sender_domain_unchecked,
                                 "sender_domain",
                                 std::string(trouble) + " (sender_domain_dns_trouble = defer for " +
                                     context.recipient.domain + ")");
  }
  return mail::Verdict::accept("sender_domain", "sender domain not checked (" +
                                                    std::string(trouble) +
                                                    "), taken: sender_domain_dns_trouble = accept");
}

// Counted here, not at RCPT: a recipient that sender_domain took may still be refused by a
// later check, and what the operator wants to see is how much mail an outage let in.
mail::Verdict SenderDomainStage::at_data(const SessionContext& context) const {
  const auto trouble = context.fact(sender_trouble);
  const bool taken_unchecked =
      !trouble.empty() && std::any_of(context.recipients.begin(), context.recipients.end(),
                                      [this](const mail::Address& recipient) {
                                        return trouble_.accepts(recipient.domain);
                                      });
  if (taken_unchecked) {
    metrics::count(counters_, metrics::Counter::SenderDomainUnchecked);
  }
  return mail::Verdict::accept("sender_domain");
}

} // namespace backstop::policy
