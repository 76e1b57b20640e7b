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
      co_return std::move(*client);
    }
    round.connect_error = std::get<std::string>(connected);
    log_->info("{}: {}", round.domain, round.connect_error);
  }
  co_return nullptr;
}

asio::awaitable<void> Scheduler::round_worker(std::shared_ptr<Round> round,
                                              std::unique_ptr<SmtpClient> client) {
  if (!client) {
    client = co_await open_connection(*round);
  }
  std::size_t sent = 0;
  while (client && !round->work.empty() && !stopped_) {
    const mail::QueueId id = round->work.front();
    round->work.pop_front();
    co_await deliver_one(*round, *client, id);
    if (!client->usable() || ++sent >= options_.messages_per_connection) {
      co_await client->quit();
      --connections_;
      client.reset();
      sent = 0;
      if (!round->work.empty()) {
        client = co_await open_connection(*round);
      }
    }
  }
  if (client) {
    co_await client->quit();
    --connections_;
  }
  if (--round->workers == 0) {
    round->done.cancel();
  }
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

asio::awaitable<void> Scheduler::run_domain(std::string domain) {
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
    if (!leftover.empty()) {
      destination_failed(domain, leftover, round->connect_error);
      break;
    }
  }
}

} // namespace backstop::delivery
