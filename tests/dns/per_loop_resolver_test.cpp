// per_loop_resolver_test: a lookup is answered by the resolver of the loop it runs on, and by
// the fallback from any other loop.
#include "dns/per_loop_resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::dns {
namespace {

// Answers every TXT question with its own name.
class Named final : public Resolver {
public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  asio::awaitable<MxAnswer> mx(std::string) override { co_return MxAnswer{}; }
  asio::awaitable<AddressAnswer> addresses(std::string) override { co_return AddressAnswer{}; }
  asio::awaitable<TextAnswer> txt(std::string) override {
    co_return TextAnswer{Status::Found, {name_}, {}};
  }

private:
  std::string name_;
};

std::string ask_on(asio::io_context& loop, PerLoopResolver& resolver) {
  std::string answer;
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        auto a = co_await resolver.txt("example.test");
        answer = a.records.at(0);
      },
      asio::detached);
  loop.restart();
  loop.run();
  return answer;
}

TEST(PerLoopResolver, EachLoopIsAnsweredByItsOwnResolverOthersByTheFallback) {
  asio::io_context first;
  asio::io_context second;
  asio::io_context stranger;
  Named fallback("fallback");
  std::vector<PerLoopResolver::Loop> loops;
  loops.push_back({first.get_executor(), std::make_unique<Named>("first")});
  loops.push_back({second.get_executor(), std::make_unique<Named>("second")});
  PerLoopResolver resolver(std::move(loops), fallback);
  EXPECT_EQ(ask_on(first, resolver), "first");
  EXPECT_EQ(ask_on(second, resolver), "second");
  EXPECT_EQ(ask_on(stranger, resolver), "fallback");
}

} // namespace
} // namespace backstop::dns
