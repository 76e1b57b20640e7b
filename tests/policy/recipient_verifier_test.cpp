// recipient_verifier_test: list, cache and callout in that order, with a scripted primary
// whose calls are counted: what is known is decided without a callout, what the primary says
// is remembered, "cannot tell" follows the domain's policy, and old positive answers are
// re-checked in the background while they keep answering.
#include "policy/recipient_verifier.hpp"
#include "verify_fixture.hpp"

namespace backstop::policy {
namespace {

using namespace std::chrono_literals;
using state::VerifyResult;

class RecipientVerifierTest : public test::VerifyFixture {
protected:
  std::map<std::string, DomainVerification, std::less<>> domains() {
    return {
        {"listonly.test", {false, UnverifiedPolicy::Accept, list_of("alice@listonly.test\n")}},
        {"mixed.test", {true, UnverifiedPolicy::Accept, list_of("bob@mixed.test\n")}},
        {"callout.test", {true, UnverifiedPolicy::Accept, nullptr}},
        {"defer.test", {true, UnverifiedPolicy::Defer, nullptr}},
        {"careful.test", {true, UnverifiedPolicy::VerifiedSender, nullptr}},
        {"unchecked.test", {false, UnverifiedPolicy::Accept, nullptr}},
    };
  }

  RecipientVerifier verifier() {
    return RecipientVerifier(domains(), *cache_, prober_, nullptr, &counters_);
  }

  mail::Verdict check(const mail::Address& recipient, bool sender_verified = false) {
    const auto v = verifier();
    auto verdict = run(v.check(recipient, sender_verified));
    return verdict ? *verdict : mail::Verdict{};
  }

  static void expect_unknown_user(const mail::Verdict& v) {
    EXPECT_EQ(v.decision, mail::Decision::Reject) << v.reason;
    EXPECT_EQ(v.reply.code, 550);
    EXPECT_EQ(v.reply.enhanced, "5.1.1");
    EXPECT_TRUE(RecipientVerifier::is_unknown_user(v));
  }

  metrics::Counters counters_;
};

TEST_F(RecipientVerifierTest, ListedAddressIsAcceptedWithoutACallout) {
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  const auto v = check({"BOB", "mixed.test"});
  EXPECT_TRUE(v.accepted()) << v.reason;
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(RecipientVerifierTest, UnlistedAddressIsRefusedWhenTheListIsTheOnlySource) {
  const auto v = check({"eve", "listonly.test"});
  expect_unknown_user(v);
  EXPECT_NE(v.reply.text.find("<eve@listonly.test>"), std::string::npos) << v.reply.text;
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(RecipientVerifierTest, UnlistedAddressIsAskedWhenCalloutsAreOn) {
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  EXPECT_TRUE(check({"carol", "mixed.test"}).accepted());
  EXPECT_EQ(prober_.calls(), 1u);
}

TEST_F(RecipientVerifierTest, CachedValidIsAcceptedWithoutACallout) {
  cache_->remember(cache_key({"dave", "callout.test"}), VerifyResult::Valid, "250 ok");
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  EXPECT_TRUE(check({"dave", "callout.test"}).accepted());
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(RecipientVerifierTest, CachedInvalidIsRefusedWithoutACallout) {
  cache_->remember(cache_key({"gone", "callout.test"}), VerifyResult::Invalid,
                   "550 5.1.1 mailbox unavailable");
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  const auto v = check({"gone", "callout.test"});
  expect_unknown_user(v);
  EXPECT_NE(v.reply.text.find("mailbox unavailable"), std::string::npos) << v.reply.text;
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(RecipientVerifierTest, EachSourceOfAnAnswerIsCounted) {
  using metrics::Counter;
  EXPECT_TRUE(check({"bob", "mixed.test"}).accepted()); // listed
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  EXPECT_TRUE(check({"carol", "callout.test"}).accepted()); // asked
  EXPECT_TRUE(check({"carol", "callout.test"}).accepted()); // cached now
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  expect_unknown_user(check({"eve", "callout.test"}));
  expect_unknown_user(check({"eve", "callout.test"}));
  prober_.will_answer(ProbeResult::Unknown, "connection refused");
  EXPECT_TRUE(check({"frank", "callout.test"}).accepted());
  EXPECT_EQ(check({"frank", "defer.test"}).decision, mail::Decision::Defer);
  EXPECT_EQ(counters_.value(Counter::VerifyListed), 1U);
  EXPECT_EQ(counters_.value(Counter::CalloutsValid), 1U);
  EXPECT_EQ(counters_.value(Counter::VerifyCachedValid), 1U);
  EXPECT_EQ(counters_.value(Counter::CalloutsInvalid), 1U);
  EXPECT_EQ(counters_.value(Counter::VerifyCachedInvalid), 1U);
  EXPECT_EQ(counters_.value(Counter::CalloutsUnknown), 2U);
  EXPECT_EQ(counters_.value(Counter::UnverifiedAccepted), 1U);
  EXPECT_EQ(counters_.value(Counter::UnverifiedDeferred), 1U);
}

TEST_F(RecipientVerifierTest, VerifiedSenderPolicyDefersAnUnverifiedSender) {
  prober_.will_answer(ProbeResult::Unknown, "connection refused");
  const auto v = check({"frank", "careful.test"}, false);
  EXPECT_EQ(v.decision, mail::Decision::Defer) << v.reason;
  EXPECT_EQ(v.reply.code, 450);
  EXPECT_EQ(v.reply.enhanced, "4.1.1");
  EXPECT_NE(v.reason.find("sender not verified"), std::string::npos) << v.reason;
  EXPECT_NE(v.reply.text.find("sender not verified"), std::string::npos) << v.reply.text;
  EXPECT_FALSE(RecipientVerifier::is_unknown_user(v)) << "not a dictionary-attack count";
  EXPECT_EQ(counters_.value(metrics::Counter::UnverifiedSenderDeferred), 1U);
  EXPECT_EQ(counters_.value(metrics::Counter::UnverifiedDeferred), 0U);
  EXPECT_EQ(counters_.value(metrics::Counter::UnverifiedAccepted), 0U);
}

TEST_F(RecipientVerifierTest, VerifiedSenderPolicyAcceptsAVerifiedSender) {
  prober_.will_answer(ProbeResult::Unknown, "connection refused");
  const auto v = check({"frank", "careful.test"}, true);
  EXPECT_TRUE(v.accepted()) << v.reason;
  EXPECT_NE(v.reason.find("verified sender"), std::string::npos) << v.reason;
  EXPECT_EQ(counters_.value(metrics::Counter::UnverifiedAccepted), 1U);
  EXPECT_EQ(counters_.value(metrics::Counter::UnverifiedSenderDeferred), 0U);
}

TEST_F(RecipientVerifierTest, VerifiedSenderPolicyStillTrustsWhatIsKnown) {
  // Known answers win over the sender: a verified sender's unknown user is still refused,
  // an unverified sender's known recipient still accepted.
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  EXPECT_TRUE(check({"gina", "careful.test"}, false).accepted());
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  expect_unknown_user(check({"hank", "careful.test"}, true));
  prober_.will_answer(ProbeResult::Unknown, "connection refused");
  EXPECT_TRUE(check({"gina", "careful.test"}, false).accepted()) << "cached valid";
}

TEST_F(RecipientVerifierTest, AcceptAndDeferIgnoreWhetherTheSenderIsVerified) {
  for (const bool verified : {false, true}) {
    prober_.will_answer(ProbeResult::Unknown, "connection refused");
    EXPECT_TRUE(check({"ivan", "callout.test"}, verified).accepted());
    prober_.will_answer(ProbeResult::Unknown, "connection refused");
    EXPECT_EQ(check({"ivan", "defer.test"}, verified).decision, mail::Decision::Defer);
  }
}

TEST_F(RecipientVerifierTest, ValidAnswerIsRememberedSoTheSecondCheckDoesNotAsk) {
  prober_.will_answer(ProbeResult::Valid, "250 2.1.5 ok");
  EXPECT_TRUE(check({"erin", "callout.test"}).accepted());
  EXPECT_TRUE(check({"erin", "callout.test"}).accepted());
  EXPECT_EQ(prober_.calls(), 1u);
  const auto entry = cached({"erin", "callout.test"});
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->result, VerifyResult::Valid);
}

TEST_F(RecipientVerifierTest, InvalidAnswerIsRememberedSoTheSecondCheckDoesNotAsk) {
  prober_.will_answer(ProbeResult::Invalid, "550 5.1.1 no such user");
  expect_unknown_user(check({"frank", "callout.test"}));
  expect_unknown_user(check({"frank", "callout.test"}));
  EXPECT_EQ(prober_.calls(), 1u);
}

TEST_F(RecipientVerifierTest, RememberedAnswerSurvivesARestart) {
  prober_.will_answer(ProbeResult::Invalid, "550 5.1.1 no such user");
  expect_unknown_user(check({"frank", "callout.test"}));
  settle();
  cache_ = new_cache(); // what a restarted server has: an empty memory over the same store
  expect_unknown_user(check({"frank", "callout.test"}));
  EXPECT_EQ(prober_.calls(), 1u);
}

TEST_F(RecipientVerifierTest, CannotTellAcceptsByDefaultAndRemembersNothing) {
  prober_.will_answer(ProbeResult::Unknown, "connection refused");
  prober_.will_answer(ProbeResult::Unknown, "connection refused");
  const auto first = check({"gina", "callout.test"});
  EXPECT_TRUE(first.accepted()) << first.reason;
  EXPECT_FALSE(cached({"gina", "callout.test"}).has_value());
  EXPECT_TRUE(check({"gina", "callout.test"}).accepted());
  EXPECT_EQ(prober_.calls(), 2u) << "an unknown answer is asked again";
}

TEST_F(RecipientVerifierTest, CannotTellDefersWhenTheDomainSaysSo) {
  prober_.will_answer(ProbeResult::Unknown, "timeout");
  const auto v = check({"hank", "defer.test"});
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_EQ(v.reply.code, 450);
  EXPECT_EQ(v.reply.enhanced, "4.1.1");
  EXPECT_FALSE(RecipientVerifier::is_unknown_user(v)) << "a deferral is not an unknown user";
  EXPECT_FALSE(cached({"hank", "defer.test"}).has_value());
}

TEST_F(RecipientVerifierTest, KnownValidIsAcceptedEvenWhereCannotTellDefers) {
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  EXPECT_TRUE(check({"ivy", "defer.test"}).accepted());
}

TEST_F(RecipientVerifierTest, PostmasterIsNeverProbed) {
  prober_.will_answer(ProbeResult::Invalid, "550 no");
  EXPECT_TRUE(check({"PostMaster", "callout.test"}).accepted());
  EXPECT_TRUE(check({"postmaster", "listonly.test"}).accepted()) << "even when not listed";
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(RecipientVerifierTest, DomainWithoutVerificationIsAcceptedUnverified) {
  EXPECT_TRUE(check({"anyone", "unchecked.test"}).accepted());
  EXPECT_TRUE(check({"anyone", "not-configured.test"}).accepted());
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(RecipientVerifierTest, ProbesTheRecipientAsGiven) {
  prober_.will_answer(ProbeResult::Valid, "250 ok");
  check({"Jo.Smith", "callout.test"});
  ASSERT_EQ(prober_.calls(), 1u);
  EXPECT_EQ(prober_.asked()[0], (mail::Address{"Jo.Smith", "callout.test"}));
}

TEST_F(RecipientVerifierTest, PrimaryWordsAreRepeatedOnOneSafeLine) {
  prober_.will_answer(ProbeResult::Invalid, "550 no\r\n250 injected\x01" + std::string(1000, 'x'));
  const auto v = check({"kim", "callout.test"});
  expect_unknown_user(v);
  EXPECT_NE(v.reply.text.find("550 no"), std::string::npos) << v.reply.text;
  EXPECT_EQ(v.reply.text.find_first_of("\r\n\x01"), std::string::npos) << v.reply.text;
  EXPECT_LT(v.reply.text.size(), 512u) << "a reply line has a length limit";
}

// Positive refresh: a valid answer older than positive_refresh still decides at once, and
// one background callout brings it up to date.
class PositiveRefreshTest : public RecipientVerifierTest {
protected:
  void SetUp() override {
    RecipientVerifierTest::SetUp();
    cache_->remember(cache_key(who_), VerifyResult::Valid, "250 first answer");
    remembered_at_ = clock_.now_unix();
    clock_.advance(cache_options_.positive_refresh + 1s);
  }

  const mail::Address who_{"lee", "callout.test"};
  std::int64_t remembered_at_ = 0;
};

TEST_F(PositiveRefreshTest, FreshEntryIsNotReChecked) {
  clock_.set(std::chrono::system_clock::time_point{} + std::chrono::seconds(remembered_at_) +
             cache_options_.positive_refresh - 1s);
  EXPECT_TRUE(check(who_).accepted());
  EXPECT_EQ(prober_.calls(), 0u);
}

TEST_F(PositiveRefreshTest, OldEntryAcceptsAndIsReCheckedOnce) {
  prober_.hold();
  prober_.will_answer(ProbeResult::Valid, "250 second answer");
  EXPECT_TRUE(check(who_).accepted()) << "the old answer decides while the callout runs";
  EXPECT_TRUE(check(who_).accepted());
  EXPECT_EQ(prober_.calls(), 1u) << "one refresh at a time per address";

  prober_.release();
  settle();
  const auto entry = cached(who_);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->checked_at, clock_.now_unix());
  EXPECT_EQ(entry->reply, "250 second answer");

  EXPECT_TRUE(check(who_).accepted());
  EXPECT_EQ(prober_.calls(), 1u) << "the refreshed entry is fresh again";
}

TEST_F(PositiveRefreshTest, RefreshThatFindsTheUserGoneRefusesNextTime) {
  prober_.will_answer(ProbeResult::Invalid, "550 5.1.1 user left");
  EXPECT_TRUE(check(who_).accepted());
  settle();
  expect_unknown_user(check(who_));
  EXPECT_EQ(prober_.calls(), 1u);
}

TEST_F(PositiveRefreshTest, RefreshThatCannotTellKeepsTheOldAnswerAndTriesAgainLater) {
  prober_.will_answer(ProbeResult::Unknown, "timeout");
  EXPECT_TRUE(check(who_).accepted());
  settle();
  const auto entry = cached(who_);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->checked_at, remembered_at_);
  EXPECT_EQ(entry->result, VerifyResult::Valid);

  EXPECT_TRUE(check(who_).accepted());
  settle();
  EXPECT_EQ(prober_.calls(), 2u) << "the failed refresh released its slot";
}

} // namespace
} // namespace backstop::policy
