// shared_sender_probes: questions about one sender address asked while a callout for it is
// running share that callout's answer. Twenty sessions of one sender missing the cache at
// once would otherwise start twenty callouts, the per-domain limits would answer most of them
// "cannot tell", and legitimate mail would be deferred for nothing.
#pragma once

#include "policy/sender_prober.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace backstop::policy {

class SharedSenderProbes final : public SenderProber {
public:
  explicit SharedSenderProbes(SenderProber& asker) : asker_(asker) {}

  asio::awaitable<SenderProbeAnswer> probe(mail::Address address,
                                           SenderProbeLimits limits) override;

  // Callouts running now (a test sees the flight end).
  std::size_t in_flight() const;

  struct Waiter;

private:
  class Flight;
  asio::awaitable<SenderProbeAnswer> wait_for(std::shared_ptr<Waiter> waiter,
                                              SenderProbeLimits limits);
  void land(const std::string& key, const SenderProbeAnswer& answer);

  SenderProber& asker_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::shared_ptr<Waiter>>> flights_; // key -> who waits
};

} // namespace backstop::policy
