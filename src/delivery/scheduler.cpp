// scheduler: tracking queued messages per destination domain and deciding when a domain's
// next delivery round starts.
#include "delivery/scheduler.hpp"

#include "smtp/asio_tokens.hpp"

#include <future>
#include <iterator>

namespace backstop::delivery {

Scheduler::Scheduler(asio::io_context& loop, queue::Spool& spool, Router& router,
                     SchedulerOptions options, const mail::Clock& clock,
                     std::shared_ptr<spdlog::logger> log)
    : loop_(loop), spool_(spool), router_(router), options_(std::move(options)), clock_(clock),
      log_(std::move(log)), schedule_(options_.retry), notices_(options_.bounce),
      intake_timer_(loop) {}

Scheduler::~Scheduler() = default;

void Scheduler::start() {
  asio::post(loop_, [this] {
    track(spool_.list());
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

void Scheduler::on_committed(std::vector<queue::QueuedMessage> messages) {
  std::chrono::steady_clock::duration wait{};
  {
    std::lock_guard lock(intake_mutex_);
    std::move(messages.begin(), messages.end(), std::back_inserter(intake_));
    if (intake_scheduled_) {
      return; // the loop is told already; it takes these too
    }
    intake_scheduled_ = true;
    const auto since = std::chrono::steady_clock::now() - last_intake_;
    wait = since < options_.intake_interval ? options_.intake_interval - since : wait;
  }
  asio::post(loop_, [this, wait] {
    if (wait.count() == 0) {
      take_in();
      return;
    }
    intake_timer_.expires_after(wait);
    intake_timer_.async_wait([this](std::error_code) { take_in(); });
  });
}

void Scheduler::take_in() {
  std::vector<queue::QueuedMessage> messages;
  {
    std::lock_guard lock(intake_mutex_);
    messages.swap(intake_);
    intake_scheduled_ = false;
    last_intake_ = std::chrono::steady_clock::now();
  }
  if (!messages.empty()) {
    track(std::move(messages));
  }
}

void Scheduler::track(std::vector<queue::QueuedMessage> messages) {
  std::set<std::string> domains;
  for (auto& message : messages) {
    const mail::QueueId id = message.id;
    for (std::size_t i = 0; i < message.envelope.recipients.size(); ++i) {
      if (i < message.state.recipients.size() &&
          message.state.recipients[i].status == queue::RecipientStatus::Pending) {
        const auto& domain = message.envelope.recipients[i].address.domain;
        domains.insert(domain);
        domains_[domain].waiting.insert(id);
      }
    }
    messages_[id] = Tracked{std::move(message), {}};
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
  take_in(); // a flush includes what was committed a moment ago
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
    take_in(); // an operator may name a message committed a moment ago
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
