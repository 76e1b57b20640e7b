// per_loop_resolver: find the caller's loop, ask its resolver.
#include "dns/per_loop_resolver.hpp"

namespace backstop::dns {

asio::awaitable<Resolver*> PerLoopResolver::here() {
  const auto executor = co_await asio::this_coro::executor;
  const auto* context = &asio::query(executor, asio::execution::context);
  for (const auto& loop : loops_) {
    if (&asio::query(loop.executor, asio::execution::context) == context) {
      co_return loop.resolver.get();
    }
  }
  co_return &fallback_;
}

asio::awaitable<MxAnswer> PerLoopResolver::mx(std::string domain) {
  Resolver* resolver = co_await here();
  co_return co_await resolver->mx(std::move(domain));
}

asio::awaitable<AddressAnswer> PerLoopResolver::addresses(std::string host) {
  Resolver* resolver = co_await here();
  co_return co_await resolver->addresses(std::move(host));
}

asio::awaitable<AddressAnswer> PerLoopResolver::a(std::string host) {
  Resolver* resolver = co_await here();
  co_return co_await resolver->a(std::move(host));
}

asio::awaitable<AddressAnswer> PerLoopResolver::aaaa(std::string host) {
  Resolver* resolver = co_await here();
  co_return co_await resolver->aaaa(std::move(host));
}

asio::awaitable<TextAnswer> PerLoopResolver::txt(std::string name) {
  Resolver* resolver = co_await here();
  co_return co_await resolver->txt(std::move(name));
}

asio::awaitable<NameAnswer> PerLoopResolver::ptr(asio::ip::address address) {
  Resolver* resolver = co_await here();
  co_return co_await resolver->ptr(address);
}

std::size_t PerLoopResolver::remembered() const {
  std::size_t total = 0;
  for (const auto& loop : loops_) {
    total += loop.resolver->remembered();
  }
  return total;
}

} // namespace backstop::dns
