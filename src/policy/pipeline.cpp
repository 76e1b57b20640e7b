// pipeline: runs the MAIL- and RCPT-stage checks in order.
#include "policy/pipeline.hpp"

#include "mail/replies.hpp"

#include <algorithm>

namespace backstop::policy {

namespace {

bool is_dns_trouble(const mail::Verdict& verdict) {
  return verdict.decision == mail::Decision::Defer; // the sender check defers for nothing else
}

} // namespace

asio::awaitable<mail::Verdict> Pipeline::check_mail(ConnectionFacts& connection,
                                                    const mail::Address& sender) const {
  connection.sender_domain_trouble.clear();
  if (!parts_.sender_domain) {
    co_return mail::Verdict::accept("sender");
  }
  auto verdict = co_await parts_.sender_domain->check(sender);
  if (is_dns_trouble(verdict) && parts_.sender_dns_trouble.any_accepts()) {
    // No recipient is known yet: each RCPT decides by its domain's sender_domain_dns_trouble.
    connection.sender_domain_trouble = verdict.reason;
    if (parts_.log) {
      parts_.log->info("MAIL <{}> from [{}]: sender domain not checked ({}); each recipient's "
                       "domain decides (sender_domain_dns_trouble)",
                       sender.to_string(), connection.client_ip, verdict.reason);
    }
    co_return mail::Verdict::accept(verdict.check);
  }
  co_return verdict;
}

// The rules that depend on the recipient's domain and local part alone, cheapest first.
mail::Verdict Pipeline::check_recipient_domain(const RcptQuery& query) const {
  auto verdict = parts_.relay_domains.check(query.recipient);
  if (!verdict.accepted()) {
    return verdict;
  }
  if (parts_.reject_sender_routing) {
    verdict = check_sender_routing(query.recipient);
    if (!verdict.accepted()) {
      return verdict;
    }
  }
  if (auto nowhere = nowhere_to_deliver(query.recipient)) {
    return std::move(*nowhere);
  }
  const std::string& trouble = query.connection.sender_domain_trouble;
  if (!trouble.empty() && !parts_.sender_dns_trouble.accepts(query.recipient.domain)) {
    return mail::Verdict::decide(
        mail::Decision::Defer, mail::replies::sender_domain_unchecked, "sender_domain",
        trouble + " (sender_domain_dns_trouble = defer for " + query.recipient.domain + ")");
  }
  return verdict;
}

asio::awaitable<mail::Verdict> Pipeline::check_rcpt(RcptQuery query) const {
  auto verdict = check_recipient_domain(query);
  if (verdict.accepted() && parts_.verifier) {
    verdict = co_await parts_.verifier->check(query.recipient);
    if (RecipientVerifier::is_unknown_user(verdict)) {
      verdict = guard_unknown(query.connection, std::move(verdict));
    }
  }
  if (verdict.accepted() && !query.connection.sender_domain_trouble.empty()) {
    verdict.reason += "; sender domain not checked (" + query.connection.sender_domain_trouble +
                      "), taken: sender_domain_dns_trouble = accept";
    metrics::count(parts_.counters, metrics::Counter::SenderDomainUnchecked);
  }
  co_return verdict;
}

// Mail that could only ever expire and bounce is not taken: 451, so the sender keeps it.
std::optional<mail::Verdict> Pipeline::nowhere_to_deliver(const mail::Address& recipient) const {
  if (parts_.destinations == nullptr) {
    return std::nullopt;
  }
  auto why = parts_.destinations->nowhere(recipient.domain);
  if (!why) {
    return std::nullopt;
  }
  return mail::Verdict::decide(mail::Decision::Defer,
                               mail::replies::no_destination.with_text(
                                   "Cannot deliver mail for " + recipient.domain + " now: " + *why),
                               "destination", *why);
}

mail::Verdict Pipeline::guard_unknown(ConnectionFacts& connection, mail::Verdict verdict) const {
  const auto& guard = parts_.guard;
  const std::size_t count = ++connection.unknown_recipients;
  if (guard.max_unknown_recipients != 0 && count >= guard.max_unknown_recipients) {
    verdict.reply = mail::replies::too_many_unknown;
    verdict.decision = mail::Decision::Defer;
    verdict.disconnect = true;
    verdict.reason += "; " + std::to_string(count) + " unknown recipients, disconnecting";
    return verdict;
  }
  if (count > 1) {
    verdict.delay = std::min(guard.delay * static_cast<long>(count - 1), guard.max_delay);
  }
  return verdict;
}

} // namespace backstop::policy
