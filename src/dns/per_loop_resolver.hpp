// per_loop_resolver: a Resolver that answers on the caller's own event loop. Each session
// loop has its own c-ares resolver (channel, sockets, cache); a lookup from a session never
// hops to another thread, so an answer in memory costs no context switch and never waits
// behind a loop that is busy with deliveries or callouts. Callers on any other loop are
// served by the fallback (a resolver they may await from anywhere).
#pragma once

#include "dns/resolver.hpp"

#include <memory>
#include <utility>
#include <vector>

namespace backstop::dns {

class PerLoopResolver final : public Resolver {
public:
  struct Loop {
    asio::any_io_executor executor;
    std::unique_ptr<Resolver> resolver; // lives on executor's loop
  };
  PerLoopResolver(std::vector<Loop> loops, Resolver& fallback)
      : loops_(std::move(loops)), fallback_(fallback) {}

  asio::awaitable<MxAnswer> mx(std::string domain) override;
  asio::awaitable<AddressAnswer> addresses(std::string host) override;
  asio::awaitable<AddressAnswer> a(std::string host) override;
  asio::awaitable<AddressAnswer> aaaa(std::string host) override;
  asio::awaitable<TextAnswer> txt(std::string name) override;
  asio::awaitable<NameAnswer> ptr(asio::ip::address address) override;
  std::size_t remembered() const override;

private:
  // The resolver of the loop this coroutine runs on, else the fallback.
  asio::awaitable<Resolver*> here();

  std::vector<Loop> loops_;
  Resolver& fallback_;
};

} // namespace backstop::dns
