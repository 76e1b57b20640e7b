// shared_sender_probes: one callout per sender address at a time; the others wait for it.
#include "policy/shared_sender_probes.hpp"

#include "mail/address.hpp"

#include <asio.hpp>
#include <optional>

namespace backstop::policy {

// One session waiting, on its own loop, for a callout another session started.
struct SharedSenderProbes::Waiter {
  explicit Waiter(const asio::any_io_executor& loop) : loop(loop), wake(loop) {}
  asio::any_io_executor loop;
  asio::steady_timer wake; // the deadline; cancelled when the answer arrives
  std::optional<SenderProbeAnswer> answer;
};

// The asking session's part: however its coroutine ends, the waiters hear of it.
class SharedSenderProbes::Flight {
public:
  Flight(SharedSenderProbes& owner, std::string key) : owner_(owner), key_(std::move(key)) {}
  Flight(const Flight&) = delete;
  Flight& operator=(const Flight&) = delete;
  ~Flight() {
    if (!landed_) {
      SenderProbeAnswer lost;
      lost.reply = "the shared callout ended without an answer";
      owner_.land(key_, lost);
    }
  }
  void land(const SenderProbeAnswer& answer) {
    landed_ = true;
    owner_.land(key_, answer);
  }

private:
  SharedSenderProbes& owner_;
  std::string key_;
  bool landed_ = false;
};

namespace {

// One flight per mailbox, whatever case a forger uses (as the sender-callout cache keys it).
std::string flight_key(const mail::Address& address) {
  return mail::ascii_lower(address.local) + "@" + mail::ascii_lower(address.domain);
}

} // namespace

asio::awaitable<SenderProbeAnswer> SharedSenderProbes::probe(mail::Address address,
                                                             SenderProbeLimits limits) {
  const auto key = flight_key(address);
  const asio::any_io_executor loop = co_await asio::this_coro::executor;
  std::shared_ptr<Waiter> waiter;
  {
    const std::lock_guard lock(mutex_);
    auto it = flights_.find(key);
    if (it == flights_.end()) {
      flights_.emplace(key, std::vector<std::shared_ptr<Waiter>>{});
    } else {
      waiter = std::make_shared<Waiter>(loop);
      it->second.push_back(waiter);
    }
  }
  if (waiter) {
    co_return co_await wait_for(waiter, limits);
  }
  Flight flight(*this, key);
  auto& asker = asker_;
  const SenderProbeAnswer answer = co_await asker.probe(std::move(address), limits);
  flight.land(answer);
  co_return answer;
}

asio::awaitable<SenderProbeAnswer> SharedSenderProbes::wait_for(std::shared_ptr<Waiter> waiter,
                                                                SenderProbeLimits limits) {
  // The callout being waited for keeps its own deadline; a second on top of it for the hop.
  waiter->wake.expires_after(limits.timeout + std::chrono::seconds(1));
  std::error_code ec;
  co_await waiter->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (waiter->answer) {
    co_return *waiter->answer;
  }
  SenderProbeAnswer late;
  late.reply = "the shared callout did not answer in time";
  co_return late;
}

void SharedSenderProbes::land(const std::string& key, const SenderProbeAnswer& answer) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    const std::lock_guard lock(mutex_);
    auto it = flights_.find(key);
    if (it == flights_.end()) {
      return;
    }
    waiters.swap(it->second);
    flights_.erase(it);
  }
  for (auto& w : waiters) {
    asio::post(w->loop, [w, answer] {
      w->answer = answer;
      w->wake.cancel();
    });
  }
}

std::size_t SharedSenderProbes::in_flight() const {
  const std::lock_guard lock(mutex_);
  return flights_.size();
}

} // namespace backstop::policy
