// sender_callout_cache_test: lifetimes on a manual clock, the size bound, the keys.
#include "checks/sender_callout_cache.hpp"
#include "checks/sender_callout_reply.hpp"

#include <gtest/gtest.h>

namespace backstop::checks {
namespace {

using namespace std::chrono_literals;
using policy::SenderAnswer;

TEST(SenderCalloutCache, RemembersUntilTheLifetimeEnds) {
  mail::ManualClock clock;
  SenderCalloutCache cache(clock, 10);
  cache.remember("a:x@example.org", SenderAnswer::Refuses, "550 5.1.1 no such user", 120s);
  auto found = cache.find("a:x@example.org");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->answer, SenderAnswer::Refuses);
  EXPECT_EQ(found->reply, "550 5.1.1 no such user");
  clock.advance(119s);
  EXPECT_TRUE(cache.find("a:x@example.org"));
  clock.advance(1s);
  EXPECT_FALSE(cache.find("a:x@example.org"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SenderCalloutCache, AnEntryLearntAgainGetsItsNewAnswerAndLifetime) {
  mail::ManualClock clock;
  SenderCalloutCache cache(clock, 10);
  cache.remember("a:x@example.org", SenderAnswer::CannotTell, "timeout", 10s);
  cache.remember("a:x@example.org", SenderAnswer::Accepts, "250 ok", 100s);
  clock.advance(50s);
  auto found = cache.find("a:x@example.org");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->answer, SenderAnswer::Accepts);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(SenderCalloutCache, BoundedTheOldestGoesFirst) {
  mail::ManualClock clock;
  SenderCalloutCache cache(clock, 3);
  for (int i = 0; i < 5; ++i) {
    cache.remember("a:u" + std::to_string(i) + "@example.org", SenderAnswer::Accepts, "250", 1h);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("a:u0@example.org"));
  EXPECT_FALSE(cache.find("a:u1@example.org"));
  EXPECT_TRUE(cache.find("a:u2@example.org"));
  EXPECT_TRUE(cache.find("a:u4@example.org"));
}

TEST(SenderCalloutCache, ZeroLifetimeIsNotRemembered) {
  mail::ManualClock clock;
  SenderCalloutCache cache(clock, 3);
  cache.remember("d:example.org", SenderAnswer::CannotTell, "x", 0s);
  EXPECT_FALSE(cache.find("d:example.org"));
}

TEST(SenderCalloutCache, AddressKeysIgnoreTheCaseOfTheLocalPart) {
  EXPECT_EQ(SenderCalloutCache::address_key({"John.Doe", "example.org"}),
            SenderCalloutCache::address_key({"john.doe", "example.org"}));
  EXPECT_NE(SenderCalloutCache::address_key({"a", "example.org"}),
            SenderCalloutCache::domain_key("example.org"));
}

TEST(SenderCalloutReply, RemoteTextLosesControlCharactersAndIsBounded) {
  EXPECT_EQ(quote_remote("550 5.1.1 <x@y>: no\r\n250 fake\x01"), "550 5.1.1 <x@y>: no 250 fake");
  EXPECT_EQ(quote_remote("550 caf\xc3\xa9"), "550 caf??");
  const std::string long_text(5000, 'x');
  const auto quoted = quote_remote(long_text);
  EXPECT_LE(quoted.size(), 210u);
  EXPECT_EQ(quoted.substr(quoted.size() - 3), "...");
}

} // namespace
} // namespace backstop::checks
