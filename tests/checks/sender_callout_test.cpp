// sender_callout_test: the check's decisions over a scripted prober (the SMTP side is tested
// against real peers in tests/delivery/sender_callout_test.cpp and the black-box tests):
// what is asked, what is remembered for how long and under which key, which reply goes out.
#include "checks/fake_settings.hpp"
#include "policy/check_registry.hpp"

#include <asio.hpp>
#include <deque>
#include <gtest/gtest.h>

namespace backstop::checks {
namespace {

using namespace std::chrono_literals;
using policy::AnswerScope;
using policy::SenderAnswer;
using policy::Stage;

class ScriptedSenderProber final : public policy::SenderProber {
public:
  void will_answer(SenderAnswer answer, std::string reply, AnswerScope scope = AnswerScope::Address,
                   bool asked = true) {
    policy::SenderProbeAnswer a;
    a.answer = answer;
    a.scope = scope;
    a.reply = std::move(reply);
    a.asked = asked;
    a.code = answer == SenderAnswer::Accepts ? 250 : answer == SenderAnswer::Refuses ? 550 : 0;
    script_.push_back(a);
  }
  asio::awaitable<policy::SenderProbeAnswer> probe(mail::Address address,
                                                   policy::SenderProbeLimits limits) override {
    asked.push_back(address);
    last_limits = limits;
    policy::SenderProbeAnswer a;
    a.reply = "nothing scripted";
    if (!script_.empty()) {
      a = script_.front();
      script_.pop_front();
    }
    co_return a;
  }
  std::vector<mail::Address> asked;
  policy::SenderProbeLimits last_limits;

private:
  std::deque<policy::SenderProbeAnswer> script_;
};

class SenderCalloutCheckTest : public ::testing::Test {
protected:
  void SetUp() override {
    services_.clock = &clock_;
    services_.sender_prober = &prober_;
    services_.backed_up_domains = {"example.test"};
    settings_.set("enabled", true);
  }
  std::unique_ptr<policy::Check> make() {
    const auto* type = policy::find_check_type("sender_callout");
    EXPECT_NE(type, nullptr);
    auto check = type->make(settings_, &services_);
    EXPECT_TRUE(settings_.errors().empty()) << settings_.errors().front();
    return check;
  }
  mail::Verdict ask(const policy::Check& check, mail::Address sender,
                    mail::Address recipient = {"user", "example.test"}, Stage stage = Stage::Rcpt) {
    policy::SessionContext context;
    context.sender = std::move(sender);
    context.recipient = std::move(recipient);
    mail::Verdict out;
    asio::co_spawn(io_, check.check(stage, context), [&](std::exception_ptr e, mail::Verdict v) {
      if (e) {
        std::rethrow_exception(e);
      }
      out = std::move(v);
    });
    io_.restart();
    io_.run();
    return out;
  }

  asio::io_context io_;
  mail::ManualClock clock_;
  ScriptedSenderProber prober_;
  policy::CheckServices services_;
  backstop::test::FakeSettings settings_{"checks.sender_callout"};
};

TEST_F(SenderCalloutCheckTest, OffByDefault) {
  settings_.erase("enabled");
  EXPECT_EQ(make(), nullptr);
}

TEST_F(SenderCalloutCheckTest, RunsAtRcptByDefaultOrAtMail) {
  auto rcpt = make();
  EXPECT_TRUE(rcpt->runs_at(Stage::Rcpt));
  EXPECT_FALSE(rcpt->runs_at(Stage::Mail));
  settings_.set("stage", "mail");
  auto mail = make();
  EXPECT_TRUE(mail->runs_at(Stage::Mail));
  EXPECT_FALSE(mail->runs_at(Stage::Rcpt));
}

TEST_F(SenderCalloutCheckTest, AcceptedSenderIsVerifiedAndRemembered) {
  auto check = make();
  prober_.will_answer(SenderAnswer::Accepts, "250 2.1.5 Ok");
  auto v = ask(*check, {"alice", "sender.test"});
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  ASSERT_EQ(v.facts.size(), 1u);
  EXPECT_EQ(v.facts[0].key, "sender_verified");
  EXPECT_EQ(v.facts[0].value, "callout");
  auto again = ask(*check, {"Alice", "sender.test"});
  EXPECT_EQ(again.decision, mail::Decision::Accept);
  EXPECT_EQ(again.facts.size(), 1u);
  EXPECT_EQ(prober_.asked.size(), 1u); // the second answer came from memory
}

TEST_F(SenderCalloutCheckTest, RefusedSenderGets550WithTheRemoteTextCleaned) {
  auto check = make();
  prober_.will_answer(SenderAnswer::Refuses, "550 5.1.1 <bob@sender.test>: User unknown\r\n250 ok");
  auto v = ask(*check, {"bob", "sender.test"});
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.reply.enhanced, "5.7.1");
  EXPECT_EQ(v.reply.text,
            "Sender address rejected: 550 5.1.1 <bob@sender.test>: User unknown 250 ok");
  EXPECT_EQ(v.check, "sender_callout");
}

TEST_F(SenderCalloutCheckTest, NegativeAnswerLastsItsLifetimeThenIsAskedAgain) {
  settings_.set("negative_lifetime", 600s);
  auto check = make();
  prober_.will_answer(SenderAnswer::Refuses, "550 5.1.1 unknown");
  prober_.will_answer(SenderAnswer::Accepts, "250 ok");
  EXPECT_EQ(ask(*check, {"bob", "sender.test"}).decision, mail::Decision::Reject);
  clock_.advance(9min);
  EXPECT_EQ(ask(*check, {"bob", "sender.test"}).decision, mail::Decision::Reject);
  EXPECT_EQ(prober_.asked.size(), 1u);
  clock_.advance(1min);
  EXPECT_EQ(ask(*check, {"bob", "sender.test"}).decision, mail::Decision::Accept);
  EXPECT_EQ(prober_.asked.size(), 2u);
}

TEST_F(SenderCalloutCheckTest, DomainWideRefusalCoversEveryAddressThere) {
  auto check = make();
  prober_.will_answer(SenderAnswer::Refuses, "550 5.7.1 <>: null sender refused",
                      AnswerScope::Domain);
  EXPECT_EQ(ask(*check, {"a", "norelay.test"}).decision, mail::Decision::Reject);
  auto other = ask(*check, {"b", "norelay.test"});
  EXPECT_EQ(other.decision, mail::Decision::Reject);
  EXPECT_NE(other.reply.text.find("null sender refused"), std::string::npos);
  EXPECT_EQ(prober_.asked.size(), 1u);
  clock_.advance(3h); // domain_negative_lifetime's default
  ask(*check, {"b", "norelay.test"});
  EXPECT_EQ(prober_.asked.size(), 2u);
}

TEST_F(SenderCalloutCheckTest, CannotTellDefersByDefaultAndAcceptsWhereConfigured) {
  settings_.table("domain", "lenient.test").set("cannot_tell", "accept");
  auto check = make();
  prober_.will_answer(SenderAnswer::CannotTell, "timed out waiting for the greeting");
  prober_.will_answer(SenderAnswer::CannotTell, "timed out waiting for the greeting");
  auto strict = ask(*check, {"c", "slow.test"}, {"user", "example.test"});
  EXPECT_EQ(strict.decision, mail::Decision::Defer);
  EXPECT_EQ(strict.reply.code, 451);
  EXPECT_EQ(strict.reply.enhanced, "4.7.1");
  auto lenient = ask(*check, {"d", "slow.test"}, {"user", "lenient.test"});
  EXPECT_EQ(lenient.decision, mail::Decision::Accept);
  EXPECT_TRUE(lenient.facts.empty()); // not verified
}

TEST_F(SenderCalloutCheckTest, CannotTellAcceptEverywhere) {
  settings_.set("cannot_tell", "accept");
  auto check = make();
  prober_.will_answer(SenderAnswer::CannotTell, "451 4.7.1 greylisted");
  EXPECT_EQ(ask(*check, {"c", "grey.test"}).decision, mail::Decision::Accept);
}

TEST_F(SenderCalloutCheckTest, TemporaryRefusalIsRememberedForTheAddressBriefly) {
  auto check = make(); // cannot_tell_lifetime 1m
  prober_.will_answer(SenderAnswer::CannotTell, "451 4.7.1 greylisted");
  prober_.will_answer(SenderAnswer::Accepts, "250 ok");
  EXPECT_EQ(ask(*check, {"c", "grey.test"}, {"one", "example.test"}).decision,
            mail::Decision::Defer);
  EXPECT_EQ(ask(*check, {"c", "grey.test"}, {"two", "example.test"}).decision,
            mail::Decision::Defer);
  EXPECT_EQ(prober_.asked.size(), 1u); // one question for the recipients of one message
  EXPECT_EQ(ask(*check, {"other", "grey.test"}).decision, mail::Decision::Accept);
  clock_.advance(1min);
  prober_.will_answer(SenderAnswer::Accepts, "250 ok");
  EXPECT_EQ(ask(*check, {"c", "grey.test"}).decision, mail::Decision::Accept);
  EXPECT_EQ(prober_.asked.size(), 3u);
}

TEST_F(SenderCalloutCheckTest, UnreachableDomainIsRememberedBrieflyARateLimitIsNot) {
  settings_.set("cannot_tell_lifetime", 30s);
  auto check = make();
  prober_.will_answer(SenderAnswer::CannotTell, "connect timed out", AnswerScope::Domain, true);
  EXPECT_EQ(ask(*check, {"a", "down.test"}).decision, mail::Decision::Defer);
  EXPECT_EQ(ask(*check, {"b", "down.test"}).decision, mail::Decision::Defer);
  EXPECT_EQ(prober_.asked.size(), 1u);
  clock_.advance(30s);
  prober_.will_answer(SenderAnswer::CannotTell, "rate limit", AnswerScope::Address, false);
  prober_.will_answer(SenderAnswer::Accepts, "250 ok");
  EXPECT_EQ(ask(*check, {"b", "down.test"}).decision, mail::Decision::Defer);
  EXPECT_EQ(ask(*check, {"b", "down.test"}).decision, mail::Decision::Accept);
  EXPECT_EQ(prober_.asked.size(), 3u);
}

TEST_F(SenderCalloutCheckTest, NeverAskedForTheNullSenderOrADomainWeBackUp) {
  auto check = make();
  EXPECT_EQ(ask(*check, {}).decision, mail::Decision::Accept);
  EXPECT_EQ(ask(*check, {"someone", "example.test"}).decision, mail::Decision::Accept);
  EXPECT_EQ(ask(*check, {"someone", "[192.0.2.1]"}).decision, mail::Decision::Accept);
  EXPECT_EQ(ask(*check, {"someone", "host.invalid"}).decision, mail::Decision::Accept);
  EXPECT_TRUE(prober_.asked.empty());
}

TEST_F(SenderCalloutCheckTest, LimitsReachTheProber) {
  settings_.set("timeout", 4s)
      .set("connect_timeout", 2s)
      .set("reply_timeout", 3s)
      .set("per_minute_per_domain", std::uint64_t{7})
      .set("concurrent_per_domain", std::uint64_t{1})
      .set("max_hosts", std::uint64_t{3});
  auto check = make();
  ask(*check, {"a", "sender.test"});
  const auto& l = prober_.last_limits;
  EXPECT_EQ(l.timeout, 4s);
  EXPECT_EQ(l.connect_timeout, 2s);
  EXPECT_EQ(l.reply_timeout, 3s);
  EXPECT_EQ(l.per_minute_per_domain, 7u);
  EXPECT_EQ(l.concurrent_per_domain, 1u);
  EXPECT_EQ(l.max_hosts, 3u);
}

TEST_F(SenderCalloutCheckTest, BadValuesAreReported) {
  settings_.set("stage", "data")
      .set("cannot_tell", "maybe")
      .set("per_minute_per_domain", std::uint64_t{0});
  const auto* type = policy::find_check_type("sender_callout");
  type->make(settings_, nullptr);
  EXPECT_EQ(settings_.errors().size(), 3u);
}

} // namespace
} // namespace backstop::checks
