// reverse_dns_test: the client's PTR name and whether it resolves back to the client
// (forward-confirmed), recorded as facts at connect; the optional refusal at RCPT with the
// RFC 7372 codes, and DNS trouble that defers but never rejects.
#include "connection_checks_fixture.hpp"

namespace backstop::checks::test {
namespace {

using policy::Stage;

class ReverseDnsTest : public CheckTest {
protected:
  ReverseDnsTest() {
    resolver_.ptr_names["203.0.113.5"] = {"mail.sender.example"};
    resolver_.hosts["mail.sender.example"] = {"203.0.113.5"};
    resolver_.ptr_names["203.0.113.6"] = {"forged.example"};
    resolver_.hosts["forged.example"] = {"198.51.100.1"};
    resolver_.ptr_names["203.0.113.7"] = {"stale.example", "mx.sender.example"};
    resolver_.hosts["mx.sender.example"] = {"198.51.100.9", "203.0.113.7"};
    resolver_.ptr_names["2001:db8:5::1"] = {"v6.sender.example"};
    resolver_.hosts["v6.sender.example"] = {"203.0.113.99", "2001:db8:5::1"};
  }

  // A context at RCPT as the pipeline leaves it after this check answered at connect.
  policy::SessionContext after_connect(const mail::Verdict& connect_verdict, std::string ip) {
    auto c = context(std::move(ip), "client.example");
    for (const auto& f : connect_verdict.facts) {
      c.session_facts[f.key] = f.value;
    }
    c.recipient = {"user", "example.org"};
    return c;
  }

  mail::Verdict at_rcpt(const policy::Check& check, const std::string& ip) {
    const auto connect = run(check, Stage::Connect, context(ip));
    return run(check, Stage::Rcpt, after_connect(connect, ip));
  }
};

TEST_F(ReverseDnsTest, ConfirmedNameIsRecordedAtConnect) {
  auto check = make("reverse_dns", {{"enabled", true}});
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->runs_at(Stage::Connect));
  const auto v = run(*check, Stage::Connect, context("203.0.113.5"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(v, "ptr"), "mail.sender.example");
  EXPECT_EQ(fact(v, "ptr_confirmed"), "yes");
  EXPECT_EQ(fact(v, "reverse_dns.result"), "confirmed");
}

TEST_F(ReverseDnsTest, NameThatDoesNotResolveBackIsUnconfirmed) {
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("203.0.113.6"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(v, "ptr"), "forged.example");
  EXPECT_EQ(fact(v, "ptr_confirmed"), "no");
  EXPECT_EQ(fact(v, "reverse_dns.result"), "unconfirmed");
}

TEST_F(ReverseDnsTest, AnyOfSeveralNamesMayConfirm) {
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("203.0.113.7"));
  EXPECT_EQ(fact(v, "ptr"), "mx.sender.example");
  EXPECT_EQ(fact(v, "ptr_confirmed"), "yes");
}

TEST_F(ReverseDnsTest, Ipv6ClientIsConfirmedByItsAaaa) {
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("2001:db8:5::1"));
  EXPECT_EQ(fact(v, "ptr"), "v6.sender.example");
  EXPECT_EQ(fact(v, "ptr_confirmed"), "yes");
}

TEST_F(ReverseDnsTest, NoPtrIsUnconfirmedWithoutAName) {
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("198.51.100.200"));
  EXPECT_EQ(fact(v, "ptr"), "(unset)");
  EXPECT_EQ(fact(v, "ptr_confirmed"), "no");
  EXPECT_EQ(fact(v, "reverse_dns.result"), "none");
}

TEST_F(ReverseDnsTest, DnsTroubleClaimsNothing) {
  resolver_.temp_fail = true;
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("203.0.113.5"));
  EXPECT_EQ(v.decision, mail::Decision::Accept);
  EXPECT_EQ(fact(v, "ptr_confirmed"), "(unset)") << "a temporary failure is neither yes nor no";
  EXPECT_EQ(fact(v, "reverse_dns.result"), "temperror");
}

TEST_F(ReverseDnsTest, ForwardLookupTroubleIsTemperrorNotUnconfirmed) {
  resolver_.failing.insert("forged.example");
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto v = run(*check, Stage::Connect, context("203.0.113.6"));
  EXPECT_EQ(fact(v, "reverse_dns.result"), "temperror");
}

TEST_F(ReverseDnsTest, PrefetchStartsThePtrLookup) {
  auto check = make("reverse_dns", {{"enabled", true}});
  const auto c = context("203.0.113.5");
  check->prefetch(Stage::Connect, c);
  io_.run();
  ASSERT_FALSE(resolver_.asked.empty());
  EXPECT_EQ(resolver_.asked.front(), "ptr 203.0.113.5");
}

TEST_F(ReverseDnsTest, OffUnlessEnabled) { EXPECT_EQ(make("reverse_dns", {}), nullptr); }

TEST_F(ReverseDnsTest, RefusesNothingByDefault) {
  auto check = make("reverse_dns", {{"enabled", true}});
  EXPECT_FALSE(check->runs_at(Stage::Rcpt));
}

TEST_F(ReverseDnsTest, RequireConfirmedRejectsUnconfirmedAndMissingAtRcpt) {
  auto check = make("reverse_dns", {{"enabled", true}, {"require", std::string("confirmed")}});
  ASSERT_TRUE(check->runs_at(Stage::Rcpt));
  for (const char* ip : {"203.0.113.6", "198.51.100.200"}) {
    const auto v = at_rcpt(*check, ip);
    EXPECT_EQ(v.decision, mail::Decision::Reject) << ip;
    EXPECT_EQ(v.reply.code, 550) << ip;
    EXPECT_EQ(v.reply.enhanced, "5.7.25") << ip;
    EXPECT_NE(v.reply.text.find(ip), std::string::npos) << v.reply.text;
  }
  EXPECT_TRUE(at_rcpt(*check, "203.0.113.5").accepted());
}

TEST_F(ReverseDnsTest, RequirePtrAcceptsAnUnconfirmedName) {
  auto check = make("reverse_dns", {{"enabled", true}, {"require", std::string("ptr")}});
  EXPECT_TRUE(at_rcpt(*check, "203.0.113.6").accepted());
  const auto v = at_rcpt(*check, "198.51.100.200");
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.enhanced, "5.7.25");
}

TEST_F(ReverseDnsTest, RequireDefersOnDnsTroubleNeverRejects) {
  resolver_.temp_fail = true;
  auto check = make("reverse_dns", {{"enabled", true}, {"require", std::string("confirmed")}});
  const auto v = at_rcpt(*check, "203.0.113.5");
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_EQ(v.reply.code, 450);
  EXPECT_EQ(v.reply.enhanced, "4.7.25");
}

TEST_F(ReverseDnsTest, RcptWithoutConnectFactsLooksItUp) {
  auto check = make("reverse_dns", {{"enabled", true}, {"require", std::string("confirmed")}});
  auto c = context("203.0.113.6");
  c.recipient = {"user", "example.org"};
  EXPECT_EQ(run(*check, Stage::Rcpt, c).decision, mail::Decision::Reject);
}

TEST_F(ReverseDnsTest, UnknownRequireValueIsAConfigError) {
  const auto errors =
      errors_of("reverse_dns", {{"enabled", true}, {"require", std::string("always")}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("checks.reverse_dns.require"), std::string::npos) << errors[0];
}

} // namespace
} // namespace backstop::checks::test
