// recipient_verifier: list, cache, callout, and the "cannot tell" policy.
#include "policy/recipient_verifier.hpp"

#include "mail/replies.hpp"

namespace backstop::policy {

namespace mr = mail::replies;

namespace {

constexpr const char* check_name = "recipient_verify";
constexpr std::size_t max_quoted_reply = 200;

bool is_postmaster(const mail::Address& a) { return mail::ascii_iequals(a.local, "postmaster"); }

// The primary's words, safe to repeat in our reply: printable ASCII, one line, bounded.
std::string quotable(const std::string& reply) {
  std::string out;
  for (char c : reply.substr(0, max_quoted_reply)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 32 && u < 127) ? c : ' ';
  }
  return out;
}

mail::Verdict accept(std::string reason) {
  auto v = mail::Verdict::accept(check_name);
  v.reason = std::move(reason);
  return v;
}

mail::Verdict unknown_user(const mail::Address& recipient, const std::string& why,
                           std::string reason) {
  const std::string text = "<" + recipient.to_string() + ">: " + mr::unknown_recipient.text +
                           (why.empty() ? "" : " (" + quotable(why) + ")");
  return mail::Verdict::decide(mail::Decision::Reject, mr::unknown_recipient.with_text(text),
                               check_name, std::move(reason));
}

asio::awaitable<void> refresh(VerifyCache& cache, RecipientProber& prober, mail::Address who,
                              std::string key) {
  const auto answer = co_await prober.probe(who);
  if (answer.result == ProbeResult::Valid) {
    cache.remember(key, state::VerifyResult::Valid, answer.reply);
  } else if (answer.result == ProbeResult::Invalid) {
    cache.remember(key, state::VerifyResult::Invalid, answer.reply);
  }
  cache.end_refresh(key);
}

} // namespace

bool RecipientVerifier::is_unknown_user(const mail::Verdict& verdict) {
  return verdict.decision == mail::Decision::Reject && verdict.check == check_name;
}

asio::awaitable<mail::Verdict> RecipientVerifier::check(const mail::Address& recipient,
                                                        bool sender_verified) const {
  const auto found = domains_.find(recipient.domain);
  if (found == domains_.end() || is_postmaster(recipient)) {
    co_return accept("not verified"); // RFC 5321 4.5.1: postmaster always exists
  }
  const auto& domain = found->second;
  if (domain.list && domain.list->contains(recipient)) {
    metrics::count(counters_, metrics::Counter::VerifyListed);
    co_return accept("listed");
  }
  if (!domain.callout) {
    co_return domain.list ? unknown_user(recipient, "", "not in the recipient list")
                          : accept("not verified");
  }
  const std::string key = cache_key(recipient);
  auto cached = co_await cache_.lookup(key);
  metrics::count(counters_, cached ? metrics::Counter::CalloutCacheHits
                                   : metrics::Counter::CalloutCacheMisses);
  if (cached) {
    if (cached->result == state::VerifyResult::Invalid) {
      metrics::count(counters_, metrics::Counter::VerifyCachedInvalid);
      co_return unknown_user(recipient, cached->reply, "cached: " + cached->reply);
    }
    if (cache_.due_for_refresh(*cached)) {
      refresh_in_background(recipient, key, co_await asio::this_coro::executor);
    }
    metrics::count(counters_, metrics::Counter::VerifyCachedValid);
    co_return accept("cached valid");
  }
  co_return co_await ask_primary(recipient, key, domain, sender_verified);
}

asio::awaitable<mail::Verdict> RecipientVerifier::ask_primary(const mail::Address& recipient,
                                                              const std::string& key,
                                                              const DomainVerification& domain,
                                                              bool sender_verified) const {
  const auto answer = co_await prober_.probe(recipient);
  switch (answer.result) {
  case ProbeResult::Valid:
    metrics::count(counters_, metrics::Counter::CalloutsValid);
    cache_.remember(key, state::VerifyResult::Valid, answer.reply);
    co_return accept("primary: " + answer.reply);
  case ProbeResult::Invalid:
    metrics::count(counters_, metrics::Counter::CalloutsInvalid);
    cache_.remember(key, state::VerifyResult::Invalid, answer.reply);
    co_return unknown_user(recipient, answer.reply, "primary: " + answer.reply);
  case ProbeResult::Unknown:
    metrics::count(counters_, metrics::Counter::CalloutsUnknown);
    break;
  }
  co_return cannot_tell(answer.reply, domain.unverified, sender_verified);
}

mail::Verdict RecipientVerifier::cannot_tell(const std::string& why, UnverifiedPolicy policy,
                                             bool sender_verified) const {
  if (policy == UnverifiedPolicy::Defer) {
    metrics::count(counters_, metrics::Counter::UnverifiedDeferred);
    return mail::Verdict::decide(mail::Decision::Defer, mr::recipient_unverified, check_name,
                                 "cannot tell: " + why);
  }
  if (policy == UnverifiedPolicy::VerifiedSender && !sender_verified) {
    // Its bounce could hit a forged sender (backscatter): the real one, if any, retries.
    metrics::count(counters_, metrics::Counter::UnverifiedSenderDeferred);
    return mail::Verdict::decide(mail::Decision::Defer,
                                 mr::recipient_unverified.with_text(mr::recipient_unverified.text +
                                                                    " (sender not verified)"),
                                 check_name, "cannot tell: " + why + "; sender not verified");
  }
  metrics::count(counters_, metrics::Counter::UnverifiedAccepted);
  return accept(policy == UnverifiedPolicy::VerifiedSender
                    ? "unverified, accepted for a verified sender: " + why
                    : "unverified, accepted: " + why);
}

void RecipientVerifier::refresh_in_background(const mail::Address& recipient,
                                              const std::string& key,
                                              asio::any_io_executor executor) const {
  if (!cache_.begin_refresh(key)) {
    return;
  }
  // cache_ and prober_ live as long as the server; this verifier may be replaced meanwhile.
  asio::co_spawn(executor, refresh(cache_, prober_, recipient, key), asio::detached);
}

} // namespace backstop::policy
