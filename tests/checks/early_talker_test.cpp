// early_talker_test: a client that sent before the banner (the session notices it during
// [smtp] greeting_delay) is refused at connect with 554 5.5.0 and the connection closed.
#include "connection_checks_fixture.hpp"

namespace backstop::checks::test {
namespace {

using policy::Stage;

class EarlyTalkerTest : public CheckTest {};

TEST_F(EarlyTalkerTest, ClientThatTalkedFirstIsRefusedAndDropped) {
  auto check = make("early_talker", {{"enabled", true}});
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->runs_at(Stage::Connect));
  auto c = context("203.0.113.5");
  c.client.early_talker = true;
  const auto v = run(*check, Stage::Connect, c);
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 554);
  EXPECT_EQ(v.reply.enhanced, "5.5.0");
  EXPECT_TRUE(v.disconnect);
  EXPECT_EQ(v.check, "early_talker");
}

TEST_F(EarlyTalkerTest, PoliteClientIsAccepted) {
  auto check = make("early_talker", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("203.0.113.5"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_FALSE(v.disconnect);
}

TEST_F(EarlyTalkerTest, OffUnlessEnabled) {
  EXPECT_EQ(make("early_talker", {}), nullptr) << "greeting_delay alone only slows it down";
}

} // namespace
} // namespace backstop::checks::test
