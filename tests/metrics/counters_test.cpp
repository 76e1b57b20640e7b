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
  EXPECT_EQ(sampled(counters, "connections_accepted"), 1U);
  EXPECT_EQ(sampled(counters, "trap_hits"), 3U);
  EXPECT_EQ(sampled(counters, "tarpit_bytes"), 6U);
  EXPECT_EQ(sampled(counters, "messages_accepted"), 7U);
  EXPECT_EQ(sampled(counters, "callouts_invalid"), 13U);
  EXPECT_EQ(sampled(counters, "unverified_sender_deferred"), 17U);
  EXPECT_EQ(sampled(counters, "bounces_sent"), 24U);
  EXPECT_EQ(sampled(counters, "sender_domain_unchecked"), 18U);
  EXPECT_EQ(sampled(counters, "delay_notices"), 26U);
  EXPECT_EQ(sampled(counters, "sender_callout_cache_hits"), 27U);
  EXPECT_EQ(sampled(counters, "sender_callout_cache_misses"), 28U);
  EXPECT_EQ(sampled(counters, "greylist_memory_hits"), 29U);
  EXPECT_EQ(sampled(counters, "blacklist_unchecked"), 30U);
  EXPECT_EQ(sampled(counters, "proxy_refused"), 36U);
  EXPECT_EQ(sampled(counters, "state_store_errors"), 37U);
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
