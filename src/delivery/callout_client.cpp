// callout_client: per-primary connection pools, slot waits, backoff and the meaning of the
// primary's answers.
#include "delivery/callout_client.hpp"

#include <algorithm>
#include <sstream>

namespace backstop::delivery {

namespace {

using policy::ProbeAnswer;
using policy::ProbeResult;

std::string pool_key(const Hop& hop) {
  std::ostringstream key;
  key << hop.endpoint;
  return key.str();
}

// RFC 3463: X.1.7 and X.1.8 are about the sender's address; Postfix words a refused sender
// "Sender address rejected" even at RCPT (smtpd_delay_reject, its default).
bool sender_refused_at_rcpt(const SmtpClient::ProbeOutcome& o) {
  return o.rcpt_enhanced == "5.1.7" || o.rcpt_enhanced == "5.1.8" ||
         o.rcpt.reply.find("Sender address rejected") != std::string::npos;
}

// A 5xx says the recipient does not exist only when it is about the mailbox: no enhanced
// code (plain 550), X.1.x (addressing) or X.2.x (mailbox). A policy refusal (X.7.x: relay
// denied, sender refused) says nothing about the recipient: "cannot tell", not 550.
bool refusal_is_about_recipient(const SmtpClient::ProbeOutcome& o) {
  const auto& e = o.rcpt_enhanced;
  return e.empty() || e.rfind("5.1.", 0) == 0 || e.rfind("5.2.", 0) == 0;
}

} // namespace

CalloutClient::CalloutClient(asio::io_context& loop, Router& router, CalloutOptions options,
                             std::shared_ptr<spdlog::logger> log)
    : loop_(loop), router_(router), options_(std::move(options)), log_(std::move(log)),
      reaper_(loop) {
  options_.client.connect_timeout = options_.timeout;
  options_.client.greeting_timeout = options_.timeout;
  options_.client.command_timeout = options_.timeout;
  asio::co_spawn(loop_, reap_idle(), asio::detached);
}

CalloutClient::~CalloutClient() = default;

void CalloutClient::set_domain_tls(std::map<std::string, TlsPolicy> domain_tls) {
  asio::post(loop_, [this, tls = std::move(domain_tls)]() mutable {
    if (options_.status != nullptr) {
      options_.status->clear_backoff(); // a reload may have changed the routes: ask again
    }
    if (tls == options_.domain_tls) {
      return;
    }
    options_.domain_tls = std::move(tls);
    // An idle connection was opened under the old rules (perhaps without TLS): not reused.
    for (auto& [key, pool] : pools_) {
      for (auto& idle : pool.idle) {
        asio::co_spawn(loop_, close(std::move(idle.client)), asio::detached);
      }
      pool.idle.clear();
    }
  });
}

void CalloutClient::stop() {
  asio::post(loop_, [this] {
    stopped_ = true;
    reaper_.cancel();
  });
}

asio::awaitable<ProbeAnswer> CalloutClient::probe(mail::Address recipient) {
  if (options_.status != nullptr) {
    if (auto why = options_.status->why_backing_off(recipient.domain, Clock::now())) {
      co_return ProbeAnswer{ProbeResult::Unknown, 0, std::move(*why)};
    }
  }
  co_return co_await asio::co_spawn(loop_.get_executor(), probe_once(std::move(recipient)),
                                    asio::use_awaitable);
}

// Sessions that ask about the same address at once (a message to one user sent by many
// clients, or a dictionary attack over parallel connections) cost the primary one question.
// The question runs on its own; every asker, the first included, waits for its answer at
// most until the callout's deadline, so a stalled primary never holds a session longer.
asio::awaitable<ProbeAnswer> CalloutClient::probe_once(mail::Address recipient) {
  const std::string key = recipient.to_string();
  auto running = in_flight_.find(key);
  std::shared_ptr<InFlight> flight;
  if (running != in_flight_.end()) {
    flight = running->second;
  } else {
    flight = std::make_shared<InFlight>();
    flight->key = key;
    flight->deadline = Clock::now() + options_.timeout;
    in_flight_.emplace(key, flight);
    asio::co_spawn(loop_, fly(flight, std::move(recipient)), asio::detached);
  }
  if (!flight->done) {
    // A little grace: the callout's own timeouts end at the deadline with a better reason.
    asio::steady_timer done(loop_.get_executor(),
                            flight->deadline + std::chrono::milliseconds(500));
    flight->waiters.push_back(&done);
    const auto position = std::prev(flight->waiters.end());
    std::error_code ec;
    co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!flight->done) {
      flight->waiters.erase(position); // timed out: the flight must not cancel a dead timer
      co_return ProbeAnswer{ProbeResult::Unknown, 0,
                            "callout for <" + key + "> took longer than " +
                                std::to_string(options_.timeout.count()) + "s"};
    }
  }
  co_return flight->answer;
}

asio::awaitable<void> CalloutClient::fly(std::shared_ptr<InFlight> flight,
                                         mail::Address recipient) {
  try {
    flight->answer = co_await probe_here(std::move(recipient), flight->deadline);
  } catch (const std::exception& e) { // waiters must never be left waiting
    flight->answer =
        ProbeAnswer{ProbeResult::Unknown, 0, std::string("callout failed: ") + e.what()};
  }
  flight->done = true;
  if (auto it = in_flight_.find(flight->key); it != in_flight_.end() && it->second == flight) {
    in_flight_.erase(it);
  }
  for (auto* waiter : flight->waiters) {
    waiter->cancel();
  }
  flight->waiters.clear();
}

asio::awaitable<ProbeAnswer> CalloutClient::probe_here(mail::Address recipient,
                                                       Clock::time_point deadline) {
  const auto route = co_await router_.route(recipient.domain);
  if (route.hops.empty()) {
    co_return ProbeAnswer{ProbeResult::Unknown, 0, "no primary: " + route.error};
  }
  std::string why;
  for (const auto& hop : route.hops) {
    if (Clock::now() >= deadline) {
      break; // the asker has its answer already: "cannot tell"
    }
    auto answer = co_await probe_hop(hop, recipient, deadline, why);
    if (answer) {
      co_return *answer;
    }
  }
  note_if_all_down(recipient.domain, route.hops, why);
  co_return ProbeAnswer{ProbeResult::Unknown, 0, why};
}

void CalloutClient::note_if_all_down(const std::string& domain, const std::vector<Hop>& hops,
                                     const std::string& why) {
  const auto now = Clock::now();
  auto until = Clock::time_point::max();
  for (const auto& hop : hops) {
    const auto pool = pools_.find(pool_key(hop));
    if (pool == pools_.end() || pool->second.down_until <= now) {
      return;
    }
    until = std::min(until, pool->second.down_until);
  }
  if (options_.status != nullptr) {
    options_.status->backing_off(domain, until, why);
  }
}

asio::awaitable<std::optional<ProbeAnswer>> CalloutClient::probe_hop(const Hop& hop,
                                                                     const mail::Address& recipient,
                                                                     Clock::time_point deadline,
                                                                     std::string& why) {
  auto& pool = pools_[pool_key(hop)];
  const auto skipped = hop.host + " did not answer recently; not asked again yet";
  if (Clock::now() < pool.down_until) {
    why = skipped;
    co_return std::nullopt;
  }
  const bool have_slot = co_await take_slot(pool, deadline);
  if (!have_slot) {
    why = "no callout connection to " + hop.host + " became free in time";
    co_return std::nullopt;
  }
  if (Clock::now() < pool.down_until) { // it stalled for the callout we waited behind
    give_back(pool, {});
    why = skipped;
    co_return std::nullopt;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    Pooled connection;
    if (!pool.idle.empty()) {
      connection = std::move(pool.idle.back());
      pool.idle.pop_back();
    }
    const bool reused = connection.client != nullptr;
    if (!reused) {
      connection.client = co_await open(hop, recipient.domain, pool, deadline, why);
    }
    if (!connection.client) {
      give_back(pool, {});
      co_return std::nullopt;
    }
    connection.client->set_deadline(deadline);
    const auto outcome = co_await ask(pool, hop, *connection.client, recipient);
    const int code = outcome.rcpt.code;
    const bool stalled = connection.client->timed_out();
    if (code == 0 && !connection.client->usable() && reused && !stalled) {
      continue; // the primary closed an idle connection: ask once more on a fresh one
    }
    ++connection.probes;
    connection.refusals += code >= 400 ? 1 : 0;
    give_back(pool, std::move(connection));
    if (stalled) {
      timed_out(pool, recipient.domain, hop, outcome.rcpt.reply);
    } else if (code != 0 && options_.status != nullptr) {
      options_.status->alive(recipient.domain, hop.host, "callout: " + outcome.rcpt.reply);
    }
    if (code >= 200 && code < 300) {
      co_return ProbeAnswer{ProbeResult::Valid, code, outcome.rcpt.reply};
    }
    if (code >= 500 && !sender_refused_at_rcpt(outcome) && refusal_is_about_recipient(outcome)) {
      co_return ProbeAnswer{ProbeResult::Invalid, code, outcome.rcpt.reply};
    }
    why = outcome.rcpt.reply;
    co_return std::nullopt;
  }
  give_back(pool, {});
  why = "connection to " + hop.host + " lost twice";
  co_return std::nullopt;
}

// With the null sender (no [verify] sender configured), a primary that refuses MAIL
// FROM:<> cannot verify anything: that is made loud, since every answer is "cannot tell".
// With a fallback sender the same callout is asked again with it on the same connection (the
// probe ended in RSET), and the primary gets the fallback directly for a while.
asio::awaitable<SmtpClient::ProbeOutcome>
CalloutClient::ask(Pool& pool, const Hop& hop, SmtpClient& client, const mail::Address& recipient) {
  const bool has_fallback = !options_.fallback_sender.is_null();
  const bool use_fallback =
      options_.sender.is_null() && has_fallback && Clock::now() < pool.refuses_null_until;
  auto outcome =
      co_await client.probe(use_fallback ? options_.fallback_sender : options_.sender, recipient);
  if (!options_.sender.is_null() || use_fallback) {
    co_return outcome;
  }
  const std::string refusal = null_sender_refusal(outcome);
  if (refusal.empty()) {
    co_return outcome;
  }
  null_sender_refused(pool, hop, refusal);
  if (!has_fallback || !client.usable()) {
    co_return outcome; // a lost connection: the next callout uses the fallback at once
  }
  co_return co_await client.probe(options_.fallback_sender, recipient);
}

// The primary's refusal of MAIL FROM:<>, at MAIL or delayed to RCPT; empty if none.
std::string CalloutClient::null_sender_refusal(const SmtpClient::ProbeOutcome& outcome) {
  if (outcome.mail_code >= 500) {
    return outcome.mail_reply;
  }
  if (outcome.rcpt.code >= 500 && sender_refused_at_rcpt(outcome)) {
    return outcome.rcpt.reply;
  }
  return {};
}

void CalloutClient::null_sender_refused(Pool& pool, const Hop& hop, const std::string& reply) {
  metrics::count(options_.counters, metrics::Counter::CalloutNullSenderRefused);
  const auto fallback =
      options_.fallback_sender.is_null() ? std::string() : options_.fallback_sender.to_string();
  auto known = std::find_if(refusals_.begin(), refusals_.end(),
                            [&](const SenderRefusal& r) { return r.host == hop.host; });
  if (known == refusals_.end()) {
    refusals_.push_back({hop.host, reply, fallback});
  } else {
    known->reply = reply;
  }
  const auto now = Clock::now();
  if (!fallback.empty()) {
    pool.refuses_null_until = now + options_.null_sender_memory;
    if (log_) {
      log_->warn("callout: {} refuses MAIL FROM:<> ({}): its callouts use MAIL FROM:<{}> "
                 "([verify] fallback_sender) for the next {}s",
                 hop.host, reply, fallback, options_.null_sender_memory.count());
    }
    return;
  }
  // Once a minute per primary, not once per RCPT: verification is off for it meanwhile.
  if (log_ && now - pool.warned >= std::chrono::minutes(1)) {
    pool.warned = now;
    log_->warn("callout: {} refuses MAIL FROM:<> ({}): its recipients cannot be verified and "
               "count as \"cannot tell\"; set [verify] sender to an address it accepts",
               hop.host, reply);
  }
}

// A primary that did not answer in time is treated like one that refused the connection:
// the callouts that follow answer "cannot tell" at once instead of waiting again.
void CalloutClient::timed_out(Pool& pool, const std::string& domain, const Hop& hop,
                              const std::string& why) {
  pool.down_until = Clock::now() + options_.down_backoff;
  if (options_.status != nullptr) {
    options_.status->failed(domain, hop.host, "callout: " + why);
  }
  if (log_) {
    log_->info("callout: {}; not asked again for {}s", why, options_.down_backoff.count());
  }
}

asio::awaitable<bool> CalloutClient::take_slot(Pool& pool, Clock::time_point deadline) {
  if (pool.busy < options_.max_connections_per_primary) {
    ++pool.busy;
    co_return true;
  }
  asio::steady_timer timer(loop_.get_executor());
  timer.expires_at(deadline);
  pool.waiting.push_back(&timer);
  auto position = std::prev(pool.waiting.end());
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // A timer cancelled by give_back carries the slot with it (busy was not decreased).
  if (timer.expiry() == std::chrono::steady_clock::time_point::min()) {
    co_return true;
  }
  pool.waiting.erase(position);
  co_return false;
}

void CalloutClient::give_back(Pool& pool, Pooled connection) {
  if (connection.client) {
    const bool keep = connection.client->usable() && !stopped_ &&
                      connection.refusals < options_.max_refusals_per_connection &&
                      connection.probes < options_.max_probes_per_connection;
    if (keep) {
      connection.client->set_deadline(Clock::time_point::max());
      connection.since = std::chrono::steady_clock::now();
      pool.idle.push_back(std::move(connection));
    } else {
      connection.client->set_deadline(Clock::time_point::max()); // QUIT has its own timeout
      asio::co_spawn(loop_, close(std::move(connection.client)), asio::detached);
    }
  }
  if (!pool.waiting.empty()) {
    asio::steady_timer* next = pool.waiting.front();
    pool.waiting.pop_front();
    next->expires_at(std::chrono::steady_clock::time_point::min()); // marks the hand-over
    return;
  }
  --pool.busy;
}

asio::awaitable<std::unique_ptr<SmtpClient>>
CalloutClient::open(const Hop& hop, const std::string& domain, Pool& pool,
                    Clock::time_point deadline, std::string& why) {
  auto client_options = options_.client;
  client_options.deadline = deadline;
  if (auto t = options_.domain_tls.find(domain); t != options_.domain_tls.end()) {
    client_options.tls = t->second;
  }
  auto connected =
      co_await SmtpClient::connect(loop_.get_executor(), hop.endpoint, hop.host, client_options);
  if (auto* client = std::get_if<std::unique_ptr<SmtpClient>>(&connected)) {
    ++opened_;
    metrics::count(options_.counters, metrics::Counter::CalloutConnections);
    if (log_) {
      log_->debug("callout connection to {} opened", hop.host);
    }
    co_return std::move(*client);
  }
  why = std::get<std::string>(connected);
  pool.down_until = std::chrono::steady_clock::now() + options_.down_backoff;
  if (options_.status != nullptr) {
    options_.status->failed(domain, hop.host, "callout: " + why);
  }
  if (log_) {
    log_->info("callout: {}; not asked again for {}s", why, options_.down_backoff.count());
  }
  co_return nullptr;
}

asio::awaitable<void> CalloutClient::close(std::unique_ptr<SmtpClient> client) {
  co_await client->quit();
}

asio::awaitable<void> CalloutClient::reap_idle() {
  const auto period =
      std::max<std::chrono::seconds>(std::chrono::seconds(1), options_.idle_timeout / 2);
  while (!stopped_) {
    reaper_.expires_after(period);
    std::error_code ec;
    co_await reaper_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const auto stale_before = std::chrono::steady_clock::now() - options_.idle_timeout;
    std::vector<std::unique_ptr<SmtpClient>> stale;
    for (auto& [key, pool] : pools_) {
      while (!pool.idle.empty() && (stopped_ || pool.idle.front().since < stale_before)) {
        stale.push_back(std::move(pool.idle.front().client));
        pool.idle.pop_front();
      }
    }
    for (auto& client : stale) {
      co_await client->quit();
    }
  }
}

} // namespace backstop::delivery
