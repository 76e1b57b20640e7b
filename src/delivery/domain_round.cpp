// domain_round: one delivery round for a domain: route it, open the first connection (one
// attempt decides whether the destination is up), then let a few workers share the due
// messages over reused connections.
#include "delivery/scheduler.hpp"
#include "smtp/asio_tokens.hpp"

#include <deque>

namespace backstop::delivery {

struct Scheduler::Round {
  explicit Round(asio::io_context& loop) : done(loop) {}
  std::string domain;
  Route route;
  std::vector<mail::QueueId> all; // every id of the round, to clear in_flight at its end
  std::deque<mail::QueueId> work; // not yet taken by a worker
  std::size_t workers = 0;
  std::string connect_error;
  bool stalled = false;    // a connection timed out: the rest waits for the next round
  asio::steady_timer done; // cancelled when the last worker ends
};

asio::awaitable<std::unique_ptr<SmtpClient>> Scheduler::open_connection(Round& round) {
  auto client_options = options_.client;
  auto tls = options_.domain_tls.find(round.domain);
  if (tls != options_.domain_tls.end()) {
    client_options.tls = tls->second;
  }
  for (const auto& hop : round.route.hops) {
    auto connected =
        co_await SmtpClient::connect(loop_.get_executor(), hop.endpoint, hop.host, client_options);
    if (auto* client = std::get_if<std::unique_ptr<SmtpClient>>(&connected)) {
      ++connections_;
      if (options_.status != nullptr) {
        options_.status->alive(round.domain, hop.host, "delivery: connected");
      }
      co_return std::move(*client);
    }
    round.connect_error = std::get<std::string>(connected);
    if (options_.status != nullptr) {
      options_.status->failed(round.domain, hop.host, "delivery: " + round.connect_error);
    }
    log_->info("{}: {}", round.domain, round.connect_error);
  }
  co_return nullptr;
}

// Every way out of a worker counts it off the round, so the round always ends: a message
// whose delivery throws is deferred (its connection is dropped, since its state is unknown)
// and the worker goes on with the next one.
asio::awaitable<void> Scheduler::round_worker(std::shared_ptr<Round> round,
                                              std::unique_ptr<SmtpClient> client) {
  std::size_t sent = 0;
  try {
    if (!client) {
      client = co_await open_connection(*round);
    }
    while (client && !round->work.empty() && !round->stalled && !stopped_) {
      const mail::QueueId id = round->work.front();
      round->work.pop_front();
      std::string crash;
      try {
        co_await deliver_one(*round, *client, id);
      } catch (const std::exception& e) {
        crash = e.what();
      }
      if (crash.empty() && client->timed_out()) {
        // A peer that stalls once would stall for every message: do not wait for each.
        round->stalled = true;
        round->connect_error = client->failure();
        if (options_.status != nullptr) {
          options_.status->failed(round->domain, client->host(), "delivery: " + client->failure());
        }
      }
      if (!crash.empty()) {
        delivery_crashed(*round, id, crash);
        client.reset(); // closes the socket: the conversation is in an unknown state
        --connections_;
      } else if (!client->usable() || ++sent >= options_.messages_per_connection) {
        co_await client->quit();
        --connections_;
        client.reset();
      }
      if (!client && !round->work.empty() && !round->stalled && !stopped_) {
        sent = 0;
        client = co_await open_connection(*round);
      }
    }
    if (client) {
      co_await client->quit();
      --connections_;
      client.reset();
    }
  } catch (const std::exception& e) {
    log_->error("{}: delivery worker ended by an exception: {}", round->domain, e.what());
    if (client) {
      --connections_;
    }
  }
  if (--round->workers == 0) {
    round->done.cancel();
  }
}

void Scheduler::delivery_crashed(Round& round, mail::QueueId id, const std::string& what) {
  log_->error("{}: delivery to {} failed by an exception: {}", id.to_string(), round.domain, what);
  auto it = messages_.find(id);
  if (it == messages_.end()) {
    return;
  }
  auto& t = it->second;
  std::uint32_t attempts = 0;
  for (auto i : pending_for(t, round.domain)) {
    attempts = std::max(attempts, t.message.state.recipients[i].attempts);
  }
  defer(t, round.domain, "internal error: " + what,
        schedule_.next_attempt(clock_.now_unix(), attempts + 1));
  settle(t);
}

asio::awaitable<void> Scheduler::deliver_one(Round& round, SmtpClient& client, mail::QueueId id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) {
    co_return; // deleted by an operator meanwhile
  }
  const auto indices = pending_for(it->second, round.domain);
  if (indices.empty()) {
    co_return;
  }
  auto body = spool_.read_body(id);
  if (!body) {
    log_->error("{}: cannot read the queued message: {}", id.to_string(), body.error().message);
    defer(it->second, round.domain, "queue read error: " + body.error().message,
          schedule_.next_attempt(clock_.now_unix(), 1));
    settle(it->second);
    co_return;
  }
  const mail::Envelope envelope = it->second.message.envelope; // the entry may go meanwhile
  auto result = co_await client.send(envelope, indices, body.value());
  it = messages_.find(id);
  if (it != messages_.end()) {
    apply(it->second, indices, result, client.host());
    settle(it->second);
  }
}

void Scheduler::destination_failed(const std::string& domain, const std::vector<mail::QueueId>& ids,
                                   const std::string& error) {
  auto& q = domains_[domain];
  const std::int64_t now = clock_.now_unix();
  q.failures++;
  q.down_until = schedule_.next_attempt(now, q.failures);
  q.last_error = error;
  log_->warn("{}: destination not reachable ({}); {} messages wait until the next try in {}s",
             domain, error, ids.size(), q.down_until - now);
  for (auto id : ids) {
    auto it = messages_.find(id);
    if (it != messages_.end()) {
      defer(it->second, domain, error, q.down_until);
      settle(it->second);
    }
  }
}

// A round that throws must not leave the domain stuck: its messages are released for the
// next round (in_flight cleared) and the destination is tried again after a back-off.
asio::awaitable<void> Scheduler::run_domain(std::string domain) {
  std::string crash;
  try {
    co_await run_rounds(domain);
  } catch (const std::exception& e) {
    crash = e.what();
  }
  if (crash.empty()) {
    co_return;
  }
  auto& q = domains_[domain];
  for (auto id : q.waiting) {
    if (auto it = messages_.find(id); it != messages_.end()) {
      it->second.in_flight.erase(domain);
    }
  }
  const std::int64_t now = clock_.now_unix();
  q.failures++;
  q.down_until = schedule_.next_attempt(now, q.failures);
  q.last_error = "internal error: " + crash;
  log_->error("delivery round for {} ended by an exception: {}; next try in {}s", domain, crash,
              q.down_until - now);
}

asio::awaitable<void> Scheduler::run_rounds(const std::string& domain) {
  auto& q = domains_[domain];
  while (!stopped_) {
    const std::int64_t now = clock_.now_unix();
    const bool all = q.flush_all;
    q.flush_all = false;
    auto round = std::make_shared<Round>(loop_);
    round->domain = domain;
    for (auto id : q.waiting) {
      const auto& t = messages_.at(id);
      if (all ? (!t.message.state.held && t.in_flight.count(domain) == 0) : due(t, domain, now)) {
        round->all.push_back(id);
      }
    }
    if (round->all.empty()) {
      break;
    }
    round->route = co_await router_.route(domain);
    if (round->route.hops.empty()) {
      if (round->route.permanent) {
        for (auto id : round->all) {
          if (auto it = messages_.find(id); it != messages_.end()) {
            fail(it->second, domain, round->route.error);
            settle(it->second);
          }
        }
      } else {
        destination_failed(domain, round->all, round->route.error);
      }
      break;
    }
    for (auto id : round->all) {
      messages_.at(id).in_flight.insert(domain);
    }
    auto first = co_await open_connection(*round);
    auto clear_in_flight = [&] {
      for (auto id : round->all) {
        if (auto it = messages_.find(id); it != messages_.end()) {
          it->second.in_flight.erase(domain);
        }
      }
    };
    if (!first) {
      clear_in_flight();
      destination_failed(domain, round->all, round->connect_error);
      break;
    }
    if (q.failures > 0) {
      // The destination answers again: everything waiting for it goes now.
      for (auto id : q.waiting) {
        auto& t = messages_.at(id);
        if (!t.message.state.held && t.in_flight.insert(domain).second) {
          round->all.push_back(id);
        }
      }
    }
    q.failures = 0;
    q.down_until = 0;
    round->work.assign(round->all.begin(), round->all.end());
    const std::size_t free_slots =
        options_.max_connections > connections_ ? options_.max_connections - connections_ : 0;
    const std::size_t extra = std::min({options_.max_connections_per_destination - 1, free_slots,
                                        round->work.size() > 0 ? round->work.size() - 1 : 0});
    round->workers = 1 + extra;
    round->done.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(loop_, round_worker(round, std::move(first)), asio::detached);
    for (std::size_t i = 0; i < extra; ++i) {
      asio::co_spawn(loop_, round_worker(round, nullptr), asio::detached);
    }
    if (round->workers > 0) {
      co_await round->done.async_wait(smtp::use_tuple);
    }
    std::vector<mail::QueueId> leftover(round->work.begin(), round->work.end());
    clear_in_flight();
    // A stall is a destination failure: what waits (and what arrived meanwhile) backs off
    // instead of meeting the same stall in the next round at once.
    if (!leftover.empty() || round->stalled) {
      destination_failed(domain, leftover, round->connect_error);
      break;
    }
  }
}

} // namespace backstop::delivery
