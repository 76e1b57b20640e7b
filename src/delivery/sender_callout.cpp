// sender_callout: what is never asked, the rate limit, the MX hosts in turn, and the meaning
// of their answers.
#include "delivery/sender_callout.hpp"

#include "dns/special_use.hpp"
#include "mail/address.hpp"

namespace backstop::delivery {

namespace {

using policy::AnswerScope;
using policy::SenderAnswer;
using policy::SenderProbeAnswer;

SenderProbeAnswer cannot_tell(std::string why, AnswerScope scope = AnswerScope::Address) {
  SenderProbeAnswer a;
  a.answer = SenderAnswer::CannotTell;
  a.scope = scope;
  a.reply = std::move(why);
  return a;
}

// RFC 3463 X.1.7/X.1.8 and Postfix's wording: the MX refused our MAIL FROM:<>, so no bounce
// to any address there would be accepted either.
bool null_sender_refused_at_rcpt(const SmtpClient::ProbeOutcome& o) {
  return o.rcpt_enhanced == "5.1.7" || o.rcpt_enhanced == "5.1.8" ||
         o.rcpt.reply.find("Sender address rejected") != std::string::npos;
}

// A refusal that is about the domain, not the mailbox: X.1.2 (bad destination system),
// X.1.10 (null MX), or an MX that does not take mail for the domain at all.
bool refuses_every_address(const SmtpClient::ProbeOutcome& o) {
  const std::string text = mail::ascii_lower(o.rcpt.reply);
  return o.rcpt_enhanced == "5.1.2" || o.rcpt_enhanced == "5.1.10" ||
         text.find("relay access denied") != std::string::npos ||
         text.find("relaying denied") != std::string::npos;
}

} // namespace

std::optional<SenderProbeAnswer> sender_answer_of(const SmtpClient::ProbeOutcome& o) {
  SenderProbeAnswer a;
  a.asked = true;
  if (o.mail_code >= 500) {
    a.answer = SenderAnswer::Refuses;
    a.scope = AnswerScope::Domain;
    a.code = o.mail_code;
    a.reply = o.mail_reply;
    return a;
  }
  const int code = o.rcpt.code;
  if (o.mail_code < 200 || o.mail_code >= 300 || code < 200 || (code >= 300 && code < 500)) {
    return std::nullopt; // no answer, or a temporary one: this host cannot tell
  }
  a.code = code;
  a.reply = o.rcpt.reply;
  if (code < 300) {
    a.answer = SenderAnswer::Accepts;
    return a;
  }
  a.answer = SenderAnswer::Refuses;
  a.scope = null_sender_refused_at_rcpt(o) || refuses_every_address(o) ? AnswerScope::Domain
                                                                       : AnswerScope::Address;
  return a;
}

struct SenderCallout::Flight {
  bool done = false;
  SenderProbeAnswer answer;
  asio::steady_timer* waiter = nullptr; // the asker, while it waits
};

SenderCallout::SenderCallout(asio::io_context& loop, Router& router, const mail::Clock& clock,
                             SenderCalloutOptions options, std::set<std::string> backed_up_domains,
                             std::shared_ptr<spdlog::logger> log)
    : loop_(loop), router_(router), options_(std::move(options)), limiter_(clock),
      log_(std::move(log)), backed_up_(std::move(backed_up_domains)) {}

void SenderCallout::set_backed_up_domains(std::set<std::string> domains) {
  std::lock_guard lock(domains_mutex_);
  backed_up_ = std::move(domains);
}

bool SenderCallout::backed_up(const std::string& domain) const {
  std::lock_guard lock(domains_mutex_);
  return backed_up_.count(domain) != 0;
}

asio::awaitable<SenderProbeAnswer> SenderCallout::probe(mail::Address address,
                                                        policy::SenderProbeLimits limits) {
  co_return co_await asio::co_spawn(loop_.get_executor(), probe_here(std::move(address), limits),
                                    asio::use_awaitable);
}

// The callout runs on its own; the asker waits for it at most until the whole deadline (a
// little grace lets the callout's own timeouts end it first, with a better reason).
asio::awaitable<SenderProbeAnswer> SenderCallout::probe_here(mail::Address address,
                                                             policy::SenderProbeLimits limits) {
  const std::string& domain = address.domain;
  if (address.is_null()) {
    co_return cannot_tell("the null sender is never asked");
  }
  if (domain.empty() || domain.front() == '[') {
    co_return cannot_tell("an address literal has no MX to ask", AnswerScope::Domain);
  }
  if (dns::special_use_name(domain)) {
    co_return cannot_tell(domain + " is a special-use name: never asked", AnswerScope::Domain);
  }
  if (backed_up(domain)) {
    co_return cannot_tell(domain + " is a domain we back up: never asked", AnswerScope::Domain);
  }
  const auto admission =
      limiter_.start(domain, limits.per_minute_per_domain, limits.concurrent_per_domain);
  if (admission != CalloutRateLimiter::Admission::Admitted) {
    const bool per_minute = admission == CalloutRateLimiter::Admission::TooManyPerMinute;
    const std::string why =
        "rate limit: " +
        (per_minute ? std::to_string(limits.per_minute_per_domain) + " callouts per minute"
                    : std::to_string(limits.concurrent_per_domain) + " callouts at once") +
        " to " + domain + " already; not asked";
    if (log_) {
      log_->info("sender callout <{}>: {}", address.to_string(), why);
    }
    co_return cannot_tell(why);
  }
  auto flight = std::make_shared<Flight>();
  const auto deadline = Clock::now() + limits.timeout;
  asio::co_spawn(loop_, fly(flight, address, limits, deadline), asio::detached);
  if (!flight->done) {
    asio::steady_timer done(loop_.get_executor(), deadline + std::chrono::milliseconds(500));
    flight->waiter = &done;
    std::error_code ec;
    co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    flight->waiter = nullptr;
    if (!flight->done) {
      co_return cannot_tell("callout for <" + address.to_string() + "> took longer than " +
                                std::to_string(limits.timeout.count()) + "s",
                            AnswerScope::Domain);
    }
  }
  co_return flight->answer;
}

asio::awaitable<void> SenderCallout::fly(std::shared_ptr<Flight> flight, mail::Address address,
                                         policy::SenderProbeLimits limits,
                                         Clock::time_point deadline) {
  try {
    flight->answer = co_await ask_mx(address, limits, deadline);
  } catch (const std::exception& e) { // the asker must never be left waiting
    flight->answer = cannot_tell(std::string("sender callout failed: ") + e.what());
  }
  limiter_.finish(address.domain);
  flight->done = true;
  if (flight->waiter != nullptr) {
    flight->waiter->cancel();
  }
  if (log_) {
    static constexpr const char* names[] = {"accepts", "refuses", "cannot tell"};
    log_->info("sender callout <{}>: {} ({})", address.to_string(),
               names[static_cast<int>(flight->answer.answer)], flight->answer.reply);
  }
}

// The MX hosts in the order the Router gives (preference, random among equals), at most
// max_hosts of them; a host that cannot tell hands over to the next.
asio::awaitable<SenderProbeAnswer> SenderCallout::ask_mx(const mail::Address& address,
                                                         const policy::SenderProbeLimits& limits,
                                                         Clock::time_point deadline) {
  const auto route = co_await router_.route(address.domain);
  if (route.hops.empty()) {
    co_return cannot_tell("no MX host of " + address.domain + " to ask: " + route.error,
                          AnswerScope::Domain);
  }
  std::string why = "no MX host of " + address.domain + " asked in time";
  bool reached = false; // an MX host answered RCPT (with 4xx): about this address only
  std::size_t tried = 0;
  for (const auto& hop : route.hops) {
    if (tried == limits.max_hosts || Clock::now() >= deadline) {
      break;
    }
    ++tried;
    auto answer = co_await ask_hop(hop, address, limits, deadline, why, reached);
    if (answer) {
      co_return *answer;
    }
  }
  auto answer = cannot_tell(why, reached ? AnswerScope::Address : AnswerScope::Domain);
  answer.asked = tried > 0;
  co_return answer;
}

asio::awaitable<std::optional<SenderProbeAnswer>>
SenderCallout::ask_hop(const Hop& hop, const mail::Address& address,
                       const policy::SenderProbeLimits& limits, Clock::time_point deadline,
                       std::string& why, bool& reached) {
  ClientOptions client;
  client.helo_name = options_.helo_name;
  client.source_addresses = options_.source_addresses;
  client.connect_timeout = limits.connect_timeout;
  client.greeting_timeout = limits.reply_timeout;
  client.command_timeout = limits.reply_timeout;
  client.deadline = deadline;
  client.tls_context = options_.tls_context;
  auto connected =
      co_await SmtpClient::connect(loop_.get_executor(), hop.endpoint, hop.host, client);
  if (auto* error = std::get_if<std::string>(&connected)) {
    why = *error;
    co_return std::nullopt;
  }
  ++opened_;
  auto smtp = std::move(std::get<std::unique_ptr<SmtpClient>>(connected));
  const mail::Address null_sender; // named: GCC 12 frees an awaited call's temporaries early
  const auto outcome = co_await smtp->probe(null_sender, address);
  // QUIT on its own (bounded, not by the asker's deadline): the answer is known already.
  smtp->set_deadline(Clock::now() + limits.reply_timeout);
  asio::co_spawn(loop_, close(std::move(smtp)), asio::detached);
  auto answer = sender_answer_of(outcome);
  if (!answer) {
    why = outcome.rcpt.reply.empty() ? outcome.mail_reply : outcome.rcpt.reply;
    reached = reached || outcome.rcpt.code >= 400;
  }
  co_return answer;
}

asio::awaitable<void> SenderCallout::close(std::unique_ptr<SmtpClient> client) {
  co_await client->quit();
}

} // namespace backstop::delivery
