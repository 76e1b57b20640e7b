#include "metrics/counters.hpp"

#include <gtest/gtest.h>
#include <set>
#include <thread>

namespace backstop::metrics {
namespace {

std::uint64_t sampled(const Counters& counters, std::string_view name) {
  for (const auto& s : counters.samples()) {
    if (s.name == name) {
      return s.value;
    }
  }
  ADD_FAILURE() << "no counter named " << name;
  return 0;
}

TEST(Counters, EveryCounterHasOneUniqueNameAndAHelpText) {
  const auto samples = Counters().samples();
  ASSERT_EQ(samples.size(), counter_count);
  std::set<std::string_view> names;
  for (const auto& s : samples) {
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate name " << s.name;
    EXPECT_FALSE(s.help.empty()) << s.name;
    EXPECT_EQ(s.value, 0U) << s.name;
  }
}

TEST(Counters, EachCounterIsReportedUnderItsOwnName) {
  // Add a different amount to every counter: a name mapped to the wrong counter shows.
  Counters counters;
  for (std::size_t i = 0; i < counter_count; ++i) {
    counters.add(static_cast<Counter>(i), i + 1);
  }
  // Each counter's value is its own position plus one: the name must lead to that position.
  const std::pair<Counter, std::string_view> spots[] = {
      {Counter::ConnectionsAccepted, "connections_accepted"},
      {Counter::TrapHits, "trap_hits"},
      {Counter::TarpitBytes, "tarpit_bytes"},
      {Counter::MessagesAccepted, "messages_accepted"},
      {Counter::CalloutsInvalid, "callouts_invalid"},
      {Counter::UnverifiedSenderDeferred, "unverified_sender_deferred"},
      {Counter::BouncesSent, "bounces_sent"},
      {Counter::SenderDomainUnchecked, "sender_domain_unchecked"},
      {Counter::DelayNotices, "delay_notices"},
      {Counter::SenderCalloutCacheHits, "sender_callout_cache_hits"},
      {Counter::SenderCalloutCacheMisses, "sender_callout_cache_misses"},
      {Counter::GreylistMemoryHits, "greylist_memory_hits"},
      {Counter::BlacklistUnchecked, "blacklist_unchecked"},
      {Counter::ProxyRefused, "proxy_refused"},
      {Counter::StateStoreErrors, "state_store_errors"},
  };
  for (const auto& [counter, name] : spots) {
    EXPECT_EQ(sampled(counters, name), static_cast<std::size_t>(counter) + 1) << name;
  }
  std::set<std::uint64_t> values;
  for (const auto& s : counters.samples()) {
    values.insert(s.value);
  }
  EXPECT_EQ(values.size(), counter_count);
}

TEST(Counters, CountIntoNothingIsAllowed) {
  count(nullptr, Counter::BouncesSent); // tools and unit tests run without counters
  Counters counters;
  count(&counters, Counter::BouncesSent, 3);
  EXPECT_EQ(counters.value(Counter::BouncesSent), 3U);
}

TEST(Counters, ConcurrentAddsAreAllCounted) {
  Counters counters;
  auto work = [&counters] {
    for (int i = 0; i < 100000; ++i) {
      counters.add(Counter::RecipientsAccepted);
      if (i % 1000 == 0) {
        counters.refused("RCPT", "reject", "relay_domains");
      }
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_EQ(counters.value(Counter::RecipientsAccepted), 200000U);
  EXPECT_EQ(counters.refusals().at("RCPT reject relay_domains"), 200U);
}

TEST(Counters, RefusalsAreKeyedByStageDecisionAndCheck) {
  Counters counters;
  counters.refused("RCPT", "reject", "recipient_verify");
  counters.refused("RCPT", "reject", "recipient_verify");
  counters.refused("RCPT", "defer", "recipient_verify");
  counters.refused("MAIL", "reject", "sender_domain");
  const std::map<std::string, std::uint64_t> expected{{"MAIL reject sender_domain", 1},
                                                      {"RCPT defer recipient_verify", 1},
                                                      {"RCPT reject recipient_verify", 2}};
  EXPECT_EQ(counters.refusals(), expected);
}

TEST(Counters, SessionsAreCountedByOutcome) {
  Counters counters;
  counters.session_ended(SessionOutcome::Mail);
  counters.session_ended(SessionOutcome::Mail);
  counters.session_ended(SessionOutcome::Timeout);
  EXPECT_EQ(counters.sessions(SessionOutcome::Mail), 2u);
  EXPECT_EQ(counters.sessions(SessionOutcome::Timeout), 1u);
  EXPECT_EQ(counters.sessions(SessionOutcome::Dropped), 0u);
  EXPECT_EQ(to_string(SessionOutcome::NoMail), "no_mail");
}

TEST(Counters, ASameListenerIsCountedOnce) {
  Counters counters;
  auto& first = counters.listener("127.0.0.1:25", "smtp");
  counters.listener("trap", "tarpit").accepted();
  first.accepted();
  counters.listener("127.0.0.1:25", "smtp").accepted(); // a reload asks again: the same one
  const auto all = counters.listeners();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].listener, "127.0.0.1:25");
  EXPECT_EQ(all[0].connections, 2u);
  EXPECT_EQ(all[1].kind, "tarpit");
  EXPECT_EQ(all[1].connections, 1u);
}

} // namespace
} // namespace backstop::metrics
