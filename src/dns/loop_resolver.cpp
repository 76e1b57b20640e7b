// loop_resolver: target_.x(...) only creates the target's coroutine (its parameters copied
// into it); co_spawn starts it on the target's loop, and use_awaitable resumes the asker on
// the asker's loop.
#include "dns/loop_resolver.hpp"

namespace backstop::dns {

asio::awaitable<MxAnswer> LoopResolver::mx(std::string domain) {
  co_return co_await asio::co_spawn(executor_, target_.mx(std::move(domain)), asio::use_awaitable);
}

asio::awaitable<AddressAnswer> LoopResolver::addresses(std::string host) {
  co_return co_await asio::co_spawn(executor_, target_.addresses(std::move(host)),
                                    asio::use_awaitable);
}

asio::awaitable<AddressAnswer> LoopResolver::a(std::string host) {
  co_return co_await asio::co_spawn(executor_, target_.a(std::move(host)), asio::use_awaitable);
}

asio::awaitable<AddressAnswer> LoopResolver::aaaa(std::string host) {
  co_return co_await asio::co_spawn(executor_, target_.aaaa(std::move(host)), asio::use_awaitable);
}

asio::awaitable<TextAnswer> LoopResolver::txt(std::string name) {
  co_return co_await asio::co_spawn(executor_, target_.txt(std::move(name)), asio::use_awaitable);
}

asio::awaitable<NameAnswer> LoopResolver::ptr(asio::ip::address address) {
  co_return co_await asio::co_spawn(executor_, target_.ptr(address), asio::use_awaitable);
}

} // namespace backstop::dns
