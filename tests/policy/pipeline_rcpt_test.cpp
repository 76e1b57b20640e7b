// pipeline_rcpt_test: the RCPT stage of the policy pipeline: relaying is decided before any
// callout, and the dictionary guard slows, then drops, a session that tries many unknown
// recipients, counting in the session's context.
#include "policy/core_checks.hpp"
#include "policy/pipeline.hpp"
#include "verify_fixture.hpp"

#include <algorithm>
#include <charconv>

namespace backstop::policy {
namespace {

using namespace std::chrono_literals;

class PipelineRcptTest : public test::VerifyFixture {
protected:
  void SetUp() override {
    VerifyFixture::SetUp();
    guard_.max_unknown_recipients = 5;
    guard_.delay = 1000ms;
    guard_.max_delay = 2500ms;
  }

  Pipeline pipeline() {
    std::map<std::string, DomainVerification, std::less<>> domains{
        {"listed.test", {false, UnverifiedPolicy::Accept, list_of("alice@listed.test\n")}},
        {"callout.test", {true, UnverifiedPolicy::Defer, nullptr}},
        {"careful.test", {true, UnverifiedPolicy::VerifiedSender, nullptr}},
    };
    auto verifier =
        std::make_shared<const RecipientVerifier>(std::move(domains), *cache_, prober_, nullptr);
    PipelineParts parts;
    parts.checks.push_back(
        {std::make_shared<const RecipientDomainCheck>(
             RelayDomains({"listed.test", "callout.test", "careful.test"}), true, nullptr),
         -100, true});
    parts.checks.push_back(
        {std::make_shared<const RecipientVerification>(verifier, guard_), 500, true});
    return Pipeline(std::move(parts));
  }

  mail::Verdict rcpt(SessionContext& connection, const mail::Address& recipient) {
    const auto p = pipeline();
    connection.sender = sender_;
    connection.recipient = recipient;
    auto verdict = run(p.decide(Stage::Rcpt, connection));
    return verdict ? *verdict : mail::Verdict{};
  }

  static std::size_t unknown(const SessionContext& connection) {
    const auto text = connection.fact(facts::unknown_recipients);
    std::size_t n = 0;
    std::from_chars(text.data(), text.data() + text.size(), n);
    return n;
  }

  static SessionContext context_of(std::string ip) {
    SessionContext context;
    context.client.ip = std::move(ip);
    return context;
  }

  std::chrono::milliseconds expected_delay(std::size_t nth_unknown) const {
    return std::min(guard_.delay * static_cast<long>(nth_unknown - 1), guard_.max_delay);
  }

  DictionaryGuard guard_;
  const mail::Address sender_{"sender", "example.org"};
  SessionContext connection_ = context_of("192.0.2.1");
};

TEST_F(PipelineRcptTest, OtherDomainIsRelayDeniedBeforeAnyCallout) {
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  const auto v = rcpt(connection_, {"user", "elsewhere.test"});
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.reply.enhanced, "5.7.1");
  EXPECT_EQ(prober_.calls(), 0u);
  EXPECT_EQ(unknown(connection_), 0u) << "relay denials are not unknown users";
}

TEST_F(PipelineRcptTest, WithoutAVerifierOnlyRelayingIsChecked) {
  PipelineParts parts;
  parts.checks.push_back(
      {std::make_shared<const RecipientDomainCheck>(RelayDomains({"listed.test"}), true, nullptr),
       0, true});
  const Pipeline plain(std::move(parts));
  connection_.recipient = {"nobody", "listed.test"};
  const auto v = run(plain.decide(Stage::Rcpt, connection_));
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->accepted());
}

TEST_F(PipelineRcptTest, VerifierDecidesForBackedUpDomains) {
  EXPECT_TRUE(rcpt(connection_, {"alice", "listed.test"}).accepted());
  EXPECT_FALSE(rcpt(connection_, {"mallory", "listed.test"}).accepted());
}

TEST_F(PipelineRcptTest, UnknownRecipientsAreSlowedMoreEachTimeUpToTheCap) {
  for (std::size_t n = 1; n < guard_.max_unknown_recipients; ++n) {
    const auto v = rcpt(connection_, {"guess" + std::to_string(n), "listed.test"});
    EXPECT_EQ(v.decision, mail::Decision::Reject) << n;
    EXPECT_EQ(v.reply.code, 550) << n;
    EXPECT_FALSE(v.disconnect) << n;
    EXPECT_EQ(v.delay, expected_delay(n)) << n;
    EXPECT_EQ(unknown(connection_), n);
  }
}

TEST_F(PipelineRcptTest, FirstUnknownHasNoDelayAndTheCapHolds) {
  EXPECT_EQ(rcpt(connection_, {"a", "listed.test"}).delay, 0ms);
  EXPECT_EQ(rcpt(connection_, {"b", "listed.test"}).delay, guard_.delay);
  EXPECT_EQ(rcpt(connection_, {"c", "listed.test"}).delay, 2 * guard_.delay);
  EXPECT_EQ(rcpt(connection_, {"d", "listed.test"}).delay, guard_.max_delay);
}

TEST_F(PipelineRcptTest, ReachingTheMaximumOfUnknownRecipientsClosesTheSession) {
  mail::Verdict last;
  for (std::size_t n = 1; n <= guard_.max_unknown_recipients; ++n) {
    last = rcpt(connection_, {"guess" + std::to_string(n), "listed.test"});
  }
  EXPECT_EQ(last.decision, mail::Decision::Defer);
  EXPECT_EQ(last.reply.code, 421);
  EXPECT_EQ(last.reply.enhanced, "4.7.0");
  EXPECT_TRUE(last.disconnect);
  EXPECT_EQ(unknown(connection_), guard_.max_unknown_recipients);
}

TEST_F(PipelineRcptTest, KnownRecipientsNeitherCountNorWait) {
  rcpt(connection_, {"x", "listed.test"});
  const auto v = rcpt(connection_, {"alice", "listed.test"});
  EXPECT_TRUE(v.accepted());
  EXPECT_EQ(v.delay, 0ms);
  EXPECT_EQ(unknown(connection_), 1u);
}

TEST_F(PipelineRcptTest, DeferredUnverifiedRecipientsDoNotCount) {
  for (int i = 0; i < 7; ++i) {
    const auto v = rcpt(connection_, {"u" + std::to_string(i), "callout.test"});
    EXPECT_EQ(v.reply.code, 450) << i;
    EXPECT_FALSE(v.disconnect) << i;
  }
  EXPECT_EQ(unknown(connection_), 0u);
}

TEST_F(PipelineRcptTest, PrimaryRefusalsCountLikeListRefusals) {
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  rcpt(connection_, {"p1", "callout.test"});
  const auto v = rcpt(connection_, {"p2", "callout.test"});
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.delay, guard_.delay);
  EXPECT_EQ(unknown(connection_), 2u);
}

TEST_F(PipelineRcptTest, EachConnectionCountsForItself) {
  rcpt(connection_, {"a", "listed.test"});
  rcpt(connection_, {"b", "listed.test"});
  SessionContext other = context_of("198.51.100.7");
  const auto v = rcpt(other, {"c", "listed.test"});
  EXPECT_EQ(v.delay, 0ms);
  EXPECT_EQ(unknown(other), 1u);
  EXPECT_EQ(unknown(connection_), 2u);
}

TEST_F(PipelineRcptTest, ZeroMaximumNeverDisconnects) {
  guard_.max_unknown_recipients = 0;
  mail::Verdict v;
  for (int i = 0; i < 20; ++i) {
    v = rcpt(connection_, {"g" + std::to_string(i), "listed.test"});
    ASSERT_FALSE(v.disconnect) << i;
  }
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.delay, guard_.max_delay);
}

} // namespace
} // namespace backstop::policy
