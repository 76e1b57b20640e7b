// helo_test: the HELO/EHLO name checks. The table holds the cases of seed 000's Exim rule
//   deny condition = ${if match {${lc:$sender_helo_name}}
//                    {^(friend|localhost|$primary_hostname|$interface_address)\$}}
// with our hostname mx2.example.net and interface address 192.0.2.25, plus the syntax and
// address-literal rules; then each rule switched off on its own, patterns and resolve.
#include "connection_checks_fixture.hpp"

namespace backstop::checks::test {
namespace {

using policy::Stage;

struct HeloCase {
  const char* client;
  const char* helo;
  const char* rule; // the rule that refuses it; "" = accepted
};

class HeloTest : public CheckTest {
protected:
  mail::Verdict helo(const policy::Check& check, const std::string& client,
                     const std::string& name) {
    return run(check, Stage::Helo, context(client, name));
  }
};

// Every rule on (the defaults), as the seed's ACL would decide and more.
const HeloCase seed_cases[] = {
    // the seed's deny list, case-insensitive (${lc:...})
    {"203.0.113.5", "friend", "pattern"},
    {"203.0.113.5", "FRIEND", "pattern"},
    {"203.0.113.5", "localhost", "pattern"},
    {"203.0.113.5", "LocalHost", "pattern"},
    {"203.0.113.5", "mx2.example.net", "not_ours"},       // $primary_hostname
    {"203.0.113.5", "MX2.Example.NET", "not_ours"},       // ... lower-cased
    {"203.0.113.5", "backup.example.net", "not_ours"},    // another of our names
    {"203.0.113.5", "192.0.2.25", "not_ours"},            // $interface_address, bare
    {"203.0.113.5", "[192.0.2.25]", "not_ours"},          // ... as a literal
    {"2001:db8:5::1", "[IPv6:2001:db8::25]", "not_ours"}, // our IPv6 address
    {"203.0.113.5", "localhost.localdomain", "pattern"},  // the default patterns go on
    // the seed's regex is anchored: names that merely contain the words pass
    {"203.0.113.5", "friendly.example.com", ""},
    {"203.0.113.5", "mail.friend.example", ""},
    {"203.0.113.5", "localhost-relay.example.org", ""},
    {"203.0.113.5", "mx2.example.net.evil.example", ""},
    // syntax: an FQDN or an address literal
    {"203.0.113.5", "sender.example.org", ""},
    {"203.0.113.5", "Mail.Sender.Example.", ""},  // one trailing dot is the root
    {"203.0.113.5", "win_host.corp.example", ""}, // underscores: common, harmless
    {"203.0.113.5", "mailhost", "syntax"},
    {"203.0.113.5", "mail..example.org", "syntax"},
    {"203.0.113.5", "-mail.example.org", "syntax"},
    {"203.0.113.5", "mail-.example.org", "syntax"},
    {"203.0.113.5", "mail.example.123", "syntax"},
    {"203.0.113.5", "203.0.113.5", "syntax"}, // an address needs brackets
    {"203.0.113.5", "[300.0.113.5]", "syntax"},
    {"203.0.113.5", "[IPv6:nonsense]", "syntax"},
    {"203.0.113.5", "mail.exa$mple.org", "syntax"},
    {"203.0.113.5", "[203.0.113.5", "syntax"},
    // an address literal must be the client's own address
    {"203.0.113.5", "[203.0.113.5]", ""},
    {"203.0.113.5", "[203.0.113.6]", "literal_match"},
    {"2001:db8:5::1", "[IPv6:2001:db8:5::1]", ""},
    {"2001:db8:5::1", "[IPv6:2001:DB8:5:0:0:0:0:1]", ""},
    {"2001:db8:5::1", "[IPv6:2001:db8:5::2]", "literal_match"},
    {"2001:db8:5::1", "[203.0.113.5]", "literal_match"},
    {"203.0.113.5", "[IPv6:::ffff:203.0.113.5]", ""},
    // our own host may use our name (a local monitor)
    {"192.0.2.25", "mx2.example.net", ""},
};

TEST_F(HeloTest, SeedCasesWithEveryRuleOn) {
  auto check = make("helo", {{"enabled", true}});
  ASSERT_TRUE(check);
  for (const auto& c : seed_cases) {
    const auto v = helo(*check, c.client, c.helo);
    const std::string label = std::string(c.client) + " HELO " + c.helo;
    if (*c.rule == '\0') {
      EXPECT_EQ(v.decision, mail::Decision::Accept) << label << ": " << v.reason;
      continue;
    }
    EXPECT_EQ(v.decision, mail::Decision::Reject) << label;
    EXPECT_EQ(v.reply.code, 550) << label;
    EXPECT_EQ(v.reply.enhanced, "5.7.1") << label;
    EXPECT_EQ(v.check, "helo") << label;
    EXPECT_EQ(v.reason.rfind(std::string(c.rule) + ":", 0), 0u)
        << label << ": reason \"" << v.reason << "\" should name rule " << c.rule;
    EXPECT_NE(v.reply.text.find(c.rule), std::string::npos) << label << ": " << v.reply.text;
  }
}

TEST_F(HeloTest, RunsAtHeloOnly) {
  auto check = make("helo", {{"enabled", true}});
  EXPECT_TRUE(check->runs_at(Stage::Helo));
  EXPECT_FALSE(check->runs_at(Stage::Connect));
  EXPECT_FALSE(check->runs_at(Stage::Rcpt));
}

TEST_F(HeloTest, OffUnlessEnabled) { EXPECT_EQ(make("helo", {}), nullptr); }

TEST_F(HeloTest, EachRuleCanBeSwitchedOff) {
  auto no_syntax = make("helo", {{"enabled", true}, {"syntax", false}});
  EXPECT_TRUE(helo(*no_syntax, "203.0.113.5", "mailhost").accepted());
  EXPECT_EQ(helo(*no_syntax, "203.0.113.5", "friend").reason.rfind("pattern:", 0), 0u)
      << "the patterns still catch junk without syntax";

  auto nothing = make(
      "helo", {{"enabled", true}, {"syntax", false}, {"patterns", std::vector<std::string>{}}});
  EXPECT_TRUE(helo(*nothing, "203.0.113.5", "friend").accepted());

  auto not_ours_off = make("helo", {{"enabled", true}, {"not_ours", false}});
  EXPECT_TRUE(helo(*not_ours_off, "203.0.113.5", "mx2.example.net").accepted());

  auto literal_off = make("helo", {{"enabled", true}, {"literal_match", false}});
  EXPECT_TRUE(helo(*literal_off, "203.0.113.5", "[203.0.113.6]").accepted());
  EXPECT_FALSE(helo(*literal_off, "203.0.113.5", "[192.0.2.25]").accepted())
      << "our own address is still refused";
}

TEST_F(HeloTest, PatternsAreGlobsOrSlashedRegexes) {
  auto check =
      make("helo", {{"enabled", true},
                    {"patterns", std::vector<std::string>{"*.dyn.example", "/^(friend|localhost)$/",
                                                          "/^[0-9]+-[0-9]+-[0-9]+-[0-9]+\\./"}}});
  EXPECT_FALSE(helo(*check, "203.0.113.5", "host7.dyn.example").accepted());
  EXPECT_FALSE(helo(*check, "203.0.113.5", "HOST7.DYN.example").accepted());
  EXPECT_TRUE(helo(*check, "203.0.113.5", "dyn.example.org").accepted());
  EXPECT_FALSE(helo(*check, "203.0.113.5", "FRIEND").accepted());
  EXPECT_FALSE(helo(*check, "203.0.113.5", "203-0-113-5.pool.example").accepted());
  EXPECT_TRUE(helo(*check, "203.0.113.5", "friendly.example.com").accepted());
}

TEST_F(HeloTest, BadRegexIsAConfigError) {
  const auto errors =
      errors_of("helo", {{"enabled", true}, {"patterns", std::vector<std::string>{"/([/"}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("checks.helo.patterns"), std::string::npos) << errors[0];
}

TEST_F(HeloTest, ResolveRefusesANameWithoutAddresses) {
  resolver_.hosts["sender.example.org"] = {"203.0.113.5"};
  auto check = make("helo", {{"enabled", true}, {"resolve", true}});
  EXPECT_TRUE(helo(*check, "203.0.113.5", "sender.example.org").accepted());
  const auto v = helo(*check, "203.0.113.5", "nowhere.example.org");
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.reason.rfind("resolve:", 0), 0u) << v.reason;
}

TEST_F(HeloTest, ResolveDefersOnDnsTrouble) {
  resolver_.temp_fail = true;
  auto check = make("helo", {{"enabled", true}, {"resolve", true}});
  const auto v = helo(*check, "203.0.113.5", "sender.example.org");
  EXPECT_EQ(v.decision, mail::Decision::Defer);
  EXPECT_EQ(v.reply.code, 450);
  EXPECT_EQ(v.reply.enhanced.substr(0, 4), "4.7.");
}

TEST_F(HeloTest, ResolveIsNotAskedForLiteralsNorByDefault) {
  auto check = make("helo", {{"enabled", true}, {"resolve", true}});
  EXPECT_TRUE(helo(*check, "203.0.113.5", "[203.0.113.5]").accepted());
  auto plain = make("helo", {{"enabled", true}});
  EXPECT_TRUE(helo(*plain, "203.0.113.5", "nowhere.example.org").accepted());
  EXPECT_TRUE(resolver_.asked.empty());
}

TEST_F(HeloTest, PrefetchStartsTheResolveLookup) {
  auto check = make("helo", {{"enabled", true}, {"resolve", true}});
  check->prefetch(Stage::Helo, context("203.0.113.5", "sender.example.org"));
  io_.run();
  ASSERT_EQ(resolver_.asked.size(), 1u);
  EXPECT_EQ(resolver_.asked[0], "addresses sender.example.org");
}

} // namespace
} // namespace backstop::checks::test
