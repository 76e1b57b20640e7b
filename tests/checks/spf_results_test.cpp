// spf_results_test: one evaluation per transaction, an answer shared by the next sessions of
// the same client, HELO and sender (never a temperror), and a bounded memory that drops the
// oldest first (under load most entries belong to transactions long done).
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
      : resolver_({{"sender.test", {{ZoneEntry::Txt, "v=spf1 ip4:192.0.2.10 -all", 0}}},
                   {"slow.test", {{ZoneEntry::Timeout, "", 0}}}}) {}

  SpfQuestion question(const std::string& session,
                       const std::string& sender = "alice@sender.test") {
    return {session, asio::ip::make_address("192.0.2.10"), "client.test", sender};
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
  EXPECT_EQ(ask(*results, question("s1", "bob@sender.test")), spf::Result::Pass);
  EXPECT_EQ(results->evaluations(), 2u);
}

TEST_F(SpfResultsTest, TheNextSessionOfTheSameSenderGetsTheAnswerWithoutAnEvaluation) {
  auto results = std::make_shared<SpfResults>(resolver_, spf::EvaluatorOptions{});
  EXPECT_EQ(ask(*results, question("s1")), spf::Result::Pass);
  EXPECT_EQ(ask(*results, question("s2")), spf::Result::Pass);
  EXPECT_EQ(ask(*results, question("s3")), spf::Result::Pass);
  EXPECT_EQ(results->evaluations(), 1u);
}

TEST_F(SpfResultsTest, ATemperrorIsNotSharedWithTheNextSession) {
  auto results = std::make_shared<SpfResults>(resolver_, spf::EvaluatorOptions{});
  EXPECT_EQ(ask(*results, question("s1", "a@slow.test")), spf::Result::TempError);
  EXPECT_EQ(ask(*results, question("s1", "a@slow.test")), spf::Result::TempError);
  EXPECT_EQ(results->evaluations(), 1u); // within its transaction it is the answer
  EXPECT_EQ(ask(*results, question("s2", "a@slow.test")), spf::Result::TempError);
  EXPECT_EQ(results->evaluations(), 2u);
}

TEST_F(SpfResultsTest, AnswersAreNotSharedWhenTheLifetimeIsZero) {
  auto results = std::make_shared<SpfResults>(resolver_, spf::EvaluatorOptions{}, 100,
                                              std::chrono::seconds(0));
  ask(*results, question("s1"));
  ask(*results, question("s2"));
  EXPECT_EQ(results->evaluations(), 2u);
}

TEST_F(SpfResultsTest, MemoryIsBoundedAndTheOldestGoFirst) {
  auto results = std::make_shared<SpfResults>(resolver_, spf::EvaluatorOptions{}, 100);
  auto sender = [](int i) { return "u" + std::to_string(i) + "@sender.test"; };
  for (int i = 0; i < 250; ++i) {
    ask(*results, question("s" + std::to_string(i), sender(i)));
  }
  EXPECT_LE(results->remembered(), 200u); // 100 transactions, 100 shared answers
  const auto before = results->evaluations();
  ask(*results, question("t249", sender(249))); // recent: still shared
  EXPECT_EQ(results->evaluations(), before);
  ask(*results, question("t0", sender(0))); // oldest: dropped, so evaluated again
  EXPECT_EQ(results->evaluations(), before + 1);
}

} // namespace
} // namespace backstop::checks
