// spf_results_test: one evaluation per transaction, and a bounded memory of them that drops
// the oldest first (under load most entries belong to transactions long done).
#include "checks/spf_results.hpp"
#include "spf/zone_resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::checks {
namespace {

using spf::test::ZoneEntry;
using spf::test::ZoneResolver;

class SpfResultsTest : public ::testing::Test {
protected:
  SpfResultsTest()
      : resolver_({{"sender.test", {{ZoneEntry::Txt, "v=spf1 ip4:192.0.2.10 -all", 0}}}}) {}

  SpfQuestion question(const std::string& session) {
    return {session, asio::ip::make_address("192.0.2.10"), "client.test", "alice@sender.test"};
  }

  spf::Result ask(SpfResults& results, const SpfQuestion& q) {
    std::optional<SpfAnswer> out;
    asio::co_spawn(io_, results.answer(q, io_.get_executor()),
                   [&](std::exception_ptr e, SpfAnswer a) {
                     if (!e) {
                       out = std::move(a);
                     }
                   });
    io_.restart();
    io_.run();
    EXPECT_TRUE(out.has_value());
    return out ? out->outcome.result : spf::Result::None;
  }

  asio::io_context io_;
  ZoneResolver resolver_;
};

TEST_F(SpfResultsTest, EveryRcptOfATransactionSharesOneEvaluation) {
  auto results = std::make_shared<SpfResults>(resolver_, spf::EvaluatorOptions{});
  EXPECT_EQ(ask(*results, question("s1")), spf::Result::Pass);
  EXPECT_EQ(ask(*results, question("s1")), spf::Result::Pass);
  EXPECT_EQ(results->evaluations(), 1u);
  EXPECT_EQ(ask(*results, question("s2")), spf::Result::Pass);
  EXPECT_EQ(results->evaluations(), 2u);
}

TEST_F(SpfResultsTest, MemoryIsBoundedAndTheOldestGoFirst) {
  auto results = std::make_shared<SpfResults>(resolver_, spf::EvaluatorOptions{}, 100);
  for (int i = 0; i < 250; ++i) {
    ask(*results, question("s" + std::to_string(i)));
  }
  EXPECT_LE(results->remembered(), 100u);
  const auto before = results->evaluations();
  ask(*results, question("s249")); // recent: still remembered
  EXPECT_EQ(results->evaluations(), before);
  ask(*results, question("s0")); // oldest: dropped, so evaluated again
  EXPECT_EQ(results->evaluations(), before + 1);
}

} // namespace
} // namespace backstop::checks
