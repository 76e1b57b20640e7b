// callout_client: per-primary connection pools, slot waits, backoff and the meaning of the
// primary's answers.
#include "delivery/callout_client.hpp"

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
    options_.domain_tls = std::move(tls);
  });
}

void CalloutClient::stop() {
  asio::post(loop_, [this] {
    stopped_ = true;
    reaper_.cancel();
  });
}

asio::awaitable<ProbeAnswer> CalloutClient::probe(mail::Address recipient) {
  co_return co_await asio::co_spawn(loop_.get_executor(), probe_once(std::move(recipient)),
                                    asio::use_awaitable);
}

// Sessions that ask about the same address at once (a message to one user sent by many
// clients, or a dictionary attack over parallel connections) cost the primary one question.
asio::awaitable<ProbeAnswer> CalloutClient::probe_once(mail::Address recipient) {
  const std::string key = recipient.to_string();
  if (auto running = in_flight_.find(key); running != in_flight_.end()) {
    const auto flight = running->second;
    asio::steady_timer done(loop_.get_executor(), std::chrono::steady_clock::time_point::max());
    flight->waiters.push_back(&done);
    std::error_code ec;
    co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return flight->answer;
  }
  const auto flight = std::make_shared<InFlight>();
  in_flight_.emplace(key, flight);
  try {
    flight->answer = co_await probe_here(std::move(recipient));
  } catch (const std::exception& e) { // waiters must never be left waiting
    flight->answer =
        ProbeAnswer{ProbeResult::Unknown, 0, std::string("callout failed: ") + e.what()};
  }
  in_flight_.erase(key);
  for (auto* waiter : flight->waiters) {
    waiter->cancel();
  }
  co_return flight->answer;
}

asio::awaitable<ProbeAnswer> CalloutClient::probe_here(mail::Address recipient) {
  const auto route = co_await router_.route(recipient.domain);
  if (route.hops.empty()) {
    co_return ProbeAnswer{ProbeResult::Unknown, 0, "no primary: " + route.error};
  }
  std::string why;
  for (const auto& hop : route.hops) {
    auto answer = co_await probe_hop(hop, recipient, why);
    if (answer) {
      co_return *answer;
    }
  }
  co_return ProbeAnswer{ProbeResult::Unknown, 0, why};
}

asio::awaitable<std::optional<ProbeAnswer>>
CalloutClient::probe_hop(const Hop& hop, const mail::Address& recipient, std::string& why) {
  auto& pool = pools_[pool_key(hop)];
  if (std::chrono::steady_clock::now() < pool.down_until) {
    why = hop.host + " did not answer recently; not asked again yet";
    co_return std::nullopt;
  }
  const bool have_slot = co_await take_slot(pool);
  if (!have_slot) {
    why = "no callout connection to " + hop.host + " became free in time";
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
      connection.client = co_await open(hop, recipient.domain, pool, why);
    }
    if (!connection.client) {
      give_back(pool, {});
      co_return std::nullopt;
    }
    const auto outcome = co_await connection.client->probe(options_.sender, recipient);
    const int code = outcome.rcpt.code;
    if (code == 0 && !connection.client->usable() && reused) {
      continue; // the primary closed an idle connection: ask once more on a fresh one
    }
    ++connection.probes;
    connection.refusals += code >= 400 ? 1 : 0;
    give_back(pool, std::move(connection));
    if (code >= 200 && code < 300) {
      co_return ProbeAnswer{ProbeResult::Valid, code, outcome.rcpt.reply};
    }
    if (code >= 500) {
      co_return ProbeAnswer{ProbeResult::Invalid, code, outcome.rcpt.reply};
    }
    why = outcome.rcpt.reply;
    co_return std::nullopt;
  }
  give_back(pool, {});
  why = "connection to " + hop.host + " lost twice";
  co_return std::nullopt;
}

asio::awaitable<bool> CalloutClient::take_slot(Pool& pool) {
  if (pool.busy < options_.max_connections_per_primary) {
    ++pool.busy;
    co_return true;
  }
  asio::steady_timer timer(loop_.get_executor());
  timer.expires_after(options_.timeout);
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
      connection.since = std::chrono::steady_clock::now();
      pool.idle.push_back(std::move(connection));
    } else {
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
CalloutClient::open(const Hop& hop, const std::string& domain, Pool& pool, std::string& why) {
  auto client_options = options_.client;
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
