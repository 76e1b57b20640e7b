// pipeline_verified_sender_test: unverified = "verified-sender" through the real pipeline.
// A stand-in for SPF or the sender callout records facts::sender_verified at RCPT before
// recipient verification asks; while the primary cannot be asked, that fact alone decides
// between 250 and 450.
#include "policy/core_checks.hpp"
#include "policy/pipeline.hpp"
#include "verify_fixture.hpp"

namespace backstop::policy {
namespace {

// Vouches for senders whose local part is "real", as an SPF pass would.
class VouchForRealSenders final : public Check {
public:
  std::string_view name() const override { return "vouch"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Rcpt; }
  asio::awaitable<mail::Verdict> check(Stage, const SessionContext& context) const override {
    auto verdict = mail::Verdict::accept("vouch");
    if (context.sender.local == "real") {
      verdict.facts.push_back({std::string(facts::sender_verified), "spf"});
    }
    co_return verdict;
  }
};

class PipelineVerifiedSenderTest : public test::VerifyFixture {
protected:
  Pipeline pipeline() {
    std::map<std::string, DomainVerification, std::less<>> domains{
        {"careful.test", {true, UnverifiedPolicy::VerifiedSender, nullptr}},
    };
    auto verifier =
        std::make_shared<const RecipientVerifier>(std::move(domains), *cache_, prober_, nullptr);
    PipelineParts parts;
    parts.checks.push_back({std::make_shared<const RecipientDomainCheck>(
                                RelayDomains({"careful.test"}), true, nullptr),
                            -100, true});
    parts.checks.push_back({std::make_shared<const VouchForRealSenders>(), 100});
    parts.checks.push_back(
        {std::make_shared<const RecipientVerification>(verifier, DictionaryGuard{}), 500, true});
    return Pipeline(std::move(parts));
  }

  mail::Verdict rcpt(const mail::Address& sender, const mail::Address& recipient) {
    const auto p = pipeline();
    context_.reset_transaction();
    context_.sender = sender;
    context_.recipient = recipient;
    auto verdict = run(p.decide(Stage::Rcpt, context_));
    return verdict ? *verdict : mail::Verdict{};
  }

  SessionContext context_;
};

TEST_F(PipelineVerifiedSenderTest, PrimaryDownUnverifiedSenderIsDeferred) {
  const auto v = rcpt({"forged", "sender.test"}, {"user", "careful.test"});
  EXPECT_EQ(v.decision, mail::Decision::Defer) << v.reason;
  EXPECT_EQ(v.reply.code, 450);
  EXPECT_EQ(v.reply.enhanced, "4.1.1");
  EXPECT_EQ(v.check, "recipient_verify");
  EXPECT_NE(v.reason.find("sender not verified"), std::string::npos) << v.reason;
}

TEST_F(PipelineVerifiedSenderTest, PrimaryDownVerifiedSenderIsAccepted) {
  const auto v = rcpt({"real", "sender.test"}, {"user", "careful.test"});
  EXPECT_TRUE(v.accepted()) << v.reason;
  EXPECT_EQ(context_.fact(facts::sender_verified), "spf");
}

TEST_F(PipelineVerifiedSenderTest, AFactFromMailHoldsForEveryRecipient) {
  context_.reset_transaction();
  context_.transaction_facts[std::string(facts::sender_verified)] = "callout";
  context_.sender = {"someone", "sender.test"};
  context_.recipient = {"user", "careful.test"};
  const auto p = pipeline();
  const auto v = run(p.decide(Stage::Rcpt, context_));
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->accepted()) << v->reason;
}

} // namespace
} // namespace backstop::policy
