// pipeline: runs the MAIL- and RCPT-stage checks in order.
#include "policy/pipeline.hpp"

#include "mail/replies.hpp"

#include <algorithm>

namespace backstop::policy {

asio::awaitable<mail::Verdict> Pipeline::check_mail(const ConnectionFacts& connection,
                                                    const mail::Address& sender) const {
  if (parts_.sender_domain) {
    co_return co_await parts_.sender_domain->check(sender);
  }
  co_return mail::Verdict::accept("sender");
}

asio::awaitable<mail::Verdict> Pipeline::check_rcpt(RcptQuery query) const {
  auto verdict = parts_.relay_domains.check(query.recipient);
  if (!verdict.accepted()) {
    co_return verdict;
  }
  if (auto nowhere = nowhere_to_deliver(query.recipient)) {
    co_return std::move(*nowhere);
  }
  if (!parts_.verifier) {
    co_return verdict;
  }
  verdict = co_await parts_.verifier->check(query.recipient);
  if (RecipientVerifier::is_unknown_user(verdict)) {
    verdict = guard_unknown(query.connection, std::move(verdict));
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
