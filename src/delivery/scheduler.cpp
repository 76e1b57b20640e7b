// scheduler: tracking queued messages per destination domain and deciding when a domain's
// next delivery round starts.
#include "delivery/scheduler.hpp"

#include "smtp/asio_tokens.hpp"

#include <future>

namespace backstop::delivery {

Scheduler::Scheduler(asio::io_context& loop, queue::Spool& spool, Router& router,
                     SchedulerOptions options, const mail::Clock& clock,
                     std::shared_ptr<spdlog::logger> log)
    : loop_(loop), spool_(spool), router_(router), options_(std::move(options)), clock_(clock),
      log_(std::move(log)), schedule_(options_.retry), notices_(options_.bounce) {}

Scheduler::~Scheduler() = default;

void Scheduler::start() {
  asio::post(loop_, [this] {
    for (auto& m : spool_.list()) {
      track(std::move(m));
    }
    log_->info("delivery: {} messages for {} domains", messages_.size(), domains_.size());
    tick_timer_ = std::make_unique<asio::steady_timer>(loop_);
    asio::co_spawn(loop_, tick_loop(), asio::detached);
  });
}

void Scheduler::stop() {
  asio::post(loop_, [this] {
    stopped_ = true;
    if (tick_timer_) {
      tick_timer_->cancel();
    }
  });
}

void Scheduler::on_committed(const queue::QueuedMessage& message) {
  asio::post(loop_, [this, message] { track(message); });
}

void Scheduler::track(queue::QueuedMessage message) {
  const mail::QueueId id = message.id;
  std::set<std::string> domains;
  for (std::size_t i = 0; i < message.envelope.recipients.size(); ++i) {
    if (i < message.state.recipients.size() &&
        message.state.recipients[i].status == queue::RecipientStatus::Pending) {
      domains.insert(message.envelope.recipients[i].address.domain);
    }
  }
  messages_[id] = Tracked{std::move(message), {}};
  for (const auto& d : domains) {
    domains_[d].waiting.insert(id);
  }
  for (const auto& d : domains) {
    poke(d);
  }
  publish_counts();
}

void Scheduler::forget(mail::QueueId id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) {
    return;
  }
  for (const auto& r : it->second.message.envelope.recipients) {
    auto d = domains_.find(r.address.domain);
    if (d != domains_.end()) {
      d->second.waiting.erase(id);
    }
  }
  messages_.erase(it);
  publish_counts();
}

bool Scheduler::due(const Tracked& t, const std::string& domain, std::int64_t now) const {
  if (t.message.state.held || t.in_flight.count(domain) != 0) {
    return false;
  }
  const auto& env = t.message.envelope;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    const auto& s = t.message.state.recipients[i];
    if (env.recipients[i].address.domain == domain && s.status == queue::RecipientStatus::Pending &&
        s.next_attempt_unix <= now) {
      return true;
    }
  }
  return false;
}

// Starts a round for domain when none runs, the destination is not backing off (or a flush
// asked for it), and something is due.
void Scheduler::poke(const std::string& domain) {
  if (stopped_) {
    return;
  }
  auto& q = domains_[domain];
  if (q.running || q.waiting.empty()) {
    return;
  }
  const std::int64_t now = clock_.now_unix();
  if (!q.flush_all) {
    if (now < q.down_until) {
      return;
    }
    bool any = false;
    for (auto id : q.waiting) {
      if (due(messages_.at(id), domain, now)) {
        any = true;
        break;
      }
    }
    if (!any) {
      return;
    }
  }
  q.running = true;
  asio::co_spawn(loop_, run_domain(domain), [this, domain](std::exception_ptr e) {
    domains_[domain].running = false;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log_->error("delivery round for {} ended by an exception: {}", domain, ex.what());
      }
    }
  });
}

asio::awaitable<void> Scheduler::tick_loop() {
  while (!stopped_) {
    tick_timer_->expires_after(options_.tick);
    co_await tick_timer_->async_wait(smtp::use_tuple);
    std::vector<std::string> names;
    for (const auto& [name, q] : domains_) {
      names.push_back(name);
    }
    for (const auto& name : names) {
      poke(name);
    }
  }
}

void Scheduler::publish_counts() {
  std::lock_guard lock(counts_mutex_);
  counts_.clear();
  for (const auto& [name, q] : domains_) {
    counts_[name] = q.waiting.size();
  }
}

std::size_t Scheduler::waiting(const std::string& domain) const {
  std::lock_guard lock(counts_mutex_);
  auto it = counts_.find(domain);
  return it == counts_.end() ? 0 : it->second;
}

long Scheduler::flush_now(const std::string& domain) {
  long total = domain.empty() ? 0 : -1;
  for (auto& [name, q] : domains_) {
    if (!domain.empty() && name != domain) {
      continue;
    }
    total = std::max(total, 0L) + static_cast<long>(q.waiting.size());
    q.flush_all = true;
    q.down_until = 0;
    poke(name);
  }
  return total;
}

void Scheduler::request_flush(const std::string& domain) {
  asio::post(loop_, [this, domain] { flush_now(domain); });
}

long Scheduler::flush(const std::string& domain) {
  std::promise<long> result;
  auto future = result.get_future();
  asio::post(loop_, [this, domain, &result] { result.set_value(flush_now(domain)); });
  return future.get();
}

nlohmann::json Scheduler::modify(const std::string& command, mail::QueueId id) {
  std::promise<nlohmann::json> result;
  auto future = result.get_future();
  asio::post(loop_, [this, command, id, &result] {
    auto it = messages_.find(id);
    if (it == messages_.end()) {
      result.set_value(
          {{"ok", false}, {"error", "no message " + id.to_string() + " in the queue"}});
      return;
    }
    auto done = [&result, command, id](queue::CommitResult r) {
      result.set_value(r.ok()
                           ? nlohmann::json{{"ok", true}, {"id", id.to_string()}, {"done", command}}
                           : nlohmann::json{{"ok", false}, {"error", r.detail}});
    };
    if (command == "delete") {
      forget(id);
      spool_.remove(id, done);
      return;
    }
    it->second.message.state.held = command == "hold";
    spool_.update_state(id, it->second.message.state, done);
    if (command == "release") {
      for (const auto& r : it->second.message.envelope.recipients) {
        poke(r.address.domain);
      }
    }
  });
  return future.get();
}

void Scheduler::set_domain_tls(std::map<std::string, TlsPolicy> domain_tls) {
  asio::post(loop_, [this, tls = std::move(domain_tls)]() mutable {
    options_.domain_tls = std::move(tls);
  });
}

} // namespace backstop::delivery
