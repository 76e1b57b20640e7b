// spf_test: the SPF check at RCPT over a fake resolver: a fail is refused with 550 5.7.23
// and the domain's explanation, a pass is accepted with Received-SPF and sender_verified,
// trusted hops (configured peers, MX hosts of the recipient's domain) are accepted per
// recipient, DNS trouble defers, per-domain policies apply, and one evaluation serves every
// RCPT of a transaction.
#include "checks/fake_settings.hpp"
#include "policy/check_registry.hpp"
#include "spf/zone_resolver.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::checks {
namespace {

using policy::Stage;
using spf::test::ZoneEntry;
using spf::test::ZoneResolver;

ZoneResolver::Zone zone() {
  return {
      {"sender.test", {{ZoneEntry::Txt, "v=spf1 ip4:192.0.2.10 -all exp=why.sender.test", 0}}},
      {"why.sender.test", {{ZoneEntry::Txt, "%{i} may not send for %{d}", 0}}},
      {"soft.test", {{ZoneEntry::Txt, "v=spf1 ~all", 0}}},
      {"broken.test", {{ZoneEntry::Txt, "v=spf1 moo -all", 0}}},
      {"slow.test", {{ZoneEntry::Timeout, {}, 0}}},
      {"helo.test", {{ZoneEntry::Txt, "v=spf1 ip4:192.0.2.30 -all", 0}}},
      {"backed.test",
       {{ZoneEntry::Mx, "primary.backed.test", 10}, {ZoneEntry::Mx, "backup2.other.test", 30}}},
      {"primary.backed.test", {{ZoneEntry::A, "192.0.2.1", 0}}},
      {"backup2.other.test", {{ZoneEntry::A, "192.0.2.20", 0}}},
      {"unsure.test", {{ZoneEntry::Timeout, {}, 0}}},
      {"plain.test", {{ZoneEntry::Mx, "primary.backed.test", 10}}},
      {"mx3.peer.test", {{ZoneEntry::A, "192.0.2.77", 0}}},
  };
}

class SpfCheckTest : public ::testing::Test {
protected:
  SpfCheckTest() : resolver_(zone()) {
    services_.resolver = &resolver_;
    services_.clock = &clock_;
    services_.hostname = "backstop.test";
    settings_.set("enabled", true);
    context_.session_id = "s1";
    context_.executor = io_.get_executor();
    client("192.0.2.99");
    context_.helo = "client.test";
    context_.sender = {"alice", "sender.test"};
    context_.recipient = {"bob", "backed.test"};
  }

  void client(const std::string& ip) {
    context_.client.ip = ip;
    context_.client.address = asio::ip::make_address(ip);
  }

  std::unique_ptr<policy::Check> make() {
    const auto* type = policy::find_check_type("spf");
    EXPECT_NE(type, nullptr);
    auto check = type->make(settings_, &services_);
    EXPECT_TRUE(settings_.errors().empty()) << settings_.errors().front();
    return check;
  }

  mail::Verdict rcpt(const policy::Check& check) {
    check.prefetch(Stage::Rcpt, context_);
    std::optional<mail::Verdict> out;
    asio::co_spawn(io_, check.check(Stage::Rcpt, context_),
                   [&](std::exception_ptr e, mail::Verdict v) {
                     if (!e) {
                       out = std::move(v);
                     }
                   });
    io_.restart();
    io_.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(mail::Verdict{});
  }

  std::string fact(const mail::Verdict& v, std::string_view key) {
    for (const auto& f : v.facts) {
      if (f.key == key) {
        return f.value;
      }
    }
    return {};
  }

  asio::io_context io_;
  mail::ManualClock clock_;
  ZoneResolver resolver_;
  policy::CheckServices services_;
  test::FakeSettings settings_{"checks.spf"};
  policy::SessionContext context_;
};

// On by default (unverified = "verified-sender" needs it); enabled = false switches it off.
TEST_F(SpfCheckTest, OnByDefaultOffWhenDisabled) {
  test::FakeSettings defaults;
  EXPECT_NE(policy::find_check_type("spf")->make(defaults, &services_), nullptr);
  test::FakeSettings off;
  off.set("enabled", false);
  EXPECT_EQ(policy::find_check_type("spf")->make(off, &services_), nullptr);
}

TEST_F(SpfCheckTest, FailIsRefusedWithTheDomainsExplanation) {
  const auto check = make();
  const auto v = rcpt(*check);
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.reply.enhanced, "5.7.23");
  EXPECT_EQ(v.reply.text, "SPF check failed: 192.0.2.99 may not send for sender.test");
  EXPECT_EQ(fact(v, "spf.mfrom"), "fail");
  EXPECT_EQ(fact(v, "sender_verified"), "");
  EXPECT_EQ(v.check, "spf");
}

TEST_F(SpfCheckTest, PassIsAcceptedWithReceivedSpfAndVerifiesTheSender) {
  client("192.0.2.10");
  const auto check = make();
  const auto v = rcpt(*check);
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(v, "spf.mfrom"), "pass");
  EXPECT_EQ(fact(v, "sender_verified"), "spf");
  ASSERT_EQ(v.headers.size(), 1u);
  EXPECT_EQ(v.headers[0].rfind("Received-SPF: pass (backstop.test: domain of alice@sender.test "
                               "designates 192.0.2.10 as permitted sender)",
                               0),
            0u)
      << v.headers[0];
}

TEST_F(SpfCheckTest, HeaderOnlyOncePerTransaction) {
  client("192.0.2.10");
  context_.headers.push_back("Received-SPF: pass (earlier recipient)");
  const auto check = make();
  EXPECT_TRUE(rcpt(*check).headers.empty());
}

TEST_F(SpfCheckTest, AnMxHostOfTheRecipientDomainIsATrustedHopForThatDomainOnly) {
  client("192.0.2.20"); // backup2.other.test, MX 30 of backed.test
  const auto check = make();
  const auto trusted = rcpt(*check);
  EXPECT_EQ(trusted.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(trusted, "spf.mfrom"), "none (trusted hop)");
  ASSERT_EQ(trusted.headers.size(), 1u);
  EXPECT_NE(trusted.headers[0].find("Received-SPF: none ("), std::string::npos);
  EXPECT_NE(trusted.headers[0].find("trusted hop"), std::string::npos) << trusted.headers[0];

  context_.recipient = {"carol", "plain.test"}; // its MX is not the client
  const auto other = rcpt(*check);
  EXPECT_EQ(other.decision, mail::Decision::Reject);
  EXPECT_EQ(other.reply.enhanced, "5.7.23");
}

TEST_F(SpfCheckTest, ATrustedNetworkIsNotEvaluated) {
  settings_.set("trusted_networks", std::vector<std::string>{"192.0.2.96/28"});
  const auto check = make();
  check->prefetch(Stage::Mail, context_);
  const auto v = rcpt(*check);
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(v, "spf.mfrom"), "none (trusted hop)");
  EXPECT_EQ(resolver_.queries(ZoneEntry::Txt), 0u);
}

TEST_F(SpfCheckTest, OneEvaluationServesEveryRecipientOfTheTransaction) {
  const auto check = make();
  check->prefetch(Stage::Mail, context_);
  EXPECT_EQ(rcpt(*check).decision, mail::Decision::Reject);
  context_.recipient = {"dave", "plain.test"};
  EXPECT_EQ(rcpt(*check).decision, mail::Decision::Reject);
  EXPECT_EQ(resolver_.queries(ZoneEntry::Txt), 2u) << "the record and its exp= text, once";
  context_.sender = {"alice", "soft.test"}; // a new transaction
  EXPECT_EQ(rcpt(*check).decision, mail::Decision::Accept);
  EXPECT_EQ(resolver_.queries(ZoneEntry::Txt), 3u);
}

TEST_F(SpfCheckTest, TemperrorDefersWith451_4_7_24) {
  context_.sender = {"alice", "slow.test"};
  const auto check = make();
  const auto v = rcpt(*check);
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_EQ(v.reply.code, 451);
  EXPECT_EQ(v.reply.enhanced, "4.7.24");
  EXPECT_EQ(fact(v, "spf.mfrom"), "temperror");
}

TEST_F(SpfCheckTest, PermerrorIsAcceptedByDefaultAndRefusedWhenConfigured) {
  context_.sender = {"alice", "broken.test"};
  const auto lenient = make();
  const auto accepted = rcpt(*lenient);
  EXPECT_EQ(accepted.decision, mail::Decision::Accept);
  ASSERT_EQ(accepted.headers.size(), 1u);
  EXPECT_NE(accepted.headers[0].find("Received-SPF: permerror"), std::string::npos);

  settings_.set("permerror", std::string("reject"));
  context_.session_id = "s2";
  const auto strict = make();
  const auto refused = rcpt(*strict);
  EXPECT_EQ(refused.decision, mail::Decision::Reject);
  EXPECT_EQ(refused.reply.enhanced, "5.7.24");
}

TEST_F(SpfCheckTest, SoftfailScoresAndDomainPoliciesOverride) {
  context_.sender = {"alice", "soft.test"};
  settings_.set("softfail_score", 2.5);
  settings_.table("domain", "plain.test").set("softfail", std::string("reject"));
  const auto check = make();
  const auto scored = rcpt(*check);
  EXPECT_EQ(scored.decision, mail::Decision::Accept);
  EXPECT_DOUBLE_EQ(scored.score, 2.5);
  context_.recipient = {"carol", "plain.test"};
  const auto refused = rcpt(*check);
  EXPECT_EQ(refused.decision, mail::Decision::Reject);
  EXPECT_EQ(refused.reply.text, "SPF check failed (softfail)");
}

TEST_F(SpfCheckTest, FailWhileTheRecipientsMxCannotBeAskedDefers) {
  context_.recipient = {"bob", "unsure.test"};
  const auto check = make();
  const auto v = rcpt(*check);
  EXPECT_EQ(v.decision, mail::Decision::Defer) << "it might be a trusted hop";
  EXPECT_EQ(v.reply.code, 451);
}

TEST_F(SpfCheckTest, NullSenderChecksTheHeloIdentity) {
  context_.sender = {};
  context_.helo = "helo.test";
  client("192.0.2.30");
  const auto check = make();
  const auto v = rcpt(*check);
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(v, "spf.helo"), "pass");
  EXPECT_EQ(fact(v, "sender_verified"), "") << "no bounce goes to a null sender";
  ASSERT_EQ(v.headers.size(), 1u);
  EXPECT_NE(v.headers[0].find("identity=helo"), std::string::npos);
}

// [peers] (issue 16): a peer backstop is a trusted hop for every recipient domain, by address
// or by name (its A record), as trusted_networks; anyone else still fails.
TEST_F(SpfCheckTest, APeerIsATrustedHopForEveryDomainByAddressOrName) {
  std::vector<std::string> errors;
  services_.peers = mail::PeerHosts::parse({"192.0.2.66"}, {"mx3.peer.test"}, errors);
  context_.recipient = {"bob", "plain.test"}; // no peer is an MX host of it
  const auto check = make();
  for (const char* peer : {"192.0.2.66", "192.0.2.77"}) {
    client(peer);
    const auto v = rcpt(*check);
    EXPECT_EQ(v.decision, mail::Decision::Accept) << peer << ": " << v.reason;
    EXPECT_NE(v.reason.find("trusted hop"), std::string::npos) << v.reason;
    EXPECT_EQ(fact(v, "spf.mfrom"), "none (trusted hop)");
  }
  client("192.0.2.78");
  EXPECT_EQ(rcpt(*check).decision, mail::Decision::Reject);
}

} // namespace
} // namespace backstop::checks
