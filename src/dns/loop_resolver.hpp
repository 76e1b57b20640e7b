// loop_resolver: a Resolver that any event loop may await, forwarding each question to the
// one Resolver that lives on another loop (c-ares and its memory stay on that loop, with no
// locks). Each call runs there as its own coroutine with by-value parameters, and the asker
// resumes on its own loop: a session loop is never blocked and never touches the target.
#pragma once

#include "dns/resolver.hpp"

namespace backstop::dns {

class LoopResolver final : public Resolver {
public:
  // target runs on target_executor's loop and outlives this.
  LoopResolver(Resolver& target, asio::any_io_executor target_executor)
      : target_(target), executor_(std::move(target_executor)) {}

  asio::awaitable<MxAnswer> mx(std::string domain) override;
  asio::awaitable<AddressAnswer> addresses(std::string host) override;
  asio::awaitable<AddressAnswer> a(std::string host) override;
  asio::awaitable<AddressAnswer> aaaa(std::string host) override;
  asio::awaitable<TextAnswer> txt(std::string name) override;
  asio::awaitable<NameAnswer> ptr(asio::ip::address address) override;
  // 0: the memory is the target's and is read only on its own loop.

private:
  Resolver& target_;
  asio::any_io_executor executor_;
};

} // namespace backstop::dns
