// address_parser_test: RFC 5321 paths, relay tricks, and ESMTP parameters of MAIL and RCPT.
#include "smtp/address_parser.hpp"

#include <gtest/gtest.h>

namespace backstop::smtp {
namespace {

struct RcptCase {
  const char* label;
  const char* argument;
  bool utf8;
  const char* local; // nullptr: expect error
  const char* domain;
  ParseError error;
};

void PrintTo(const RcptCase& c, std::ostream* os) { *os << c.label; }

class RcptTest : public ::testing::TestWithParam<RcptCase> {};

TEST_P(RcptTest, Parses) {
  const auto& c = GetParam();
  auto result = parse_rcpt_to(c.argument, c.utf8);
  if (c.local == nullptr) {
    ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.label;
    EXPECT_EQ(std::get<ParseError>(result), c.error) << c.label;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<RcptToArgs>(result)) << c.label;
  EXPECT_EQ(std::get<RcptToArgs>(result).recipient.local, c.local) << c.label;
  EXPECT_EQ(std::get<RcptToArgs>(result).recipient.domain, c.domain) << c.label;
}

constexpr auto E = ParseError::Syntax;

INSTANTIATE_TEST_SUITE_P(
    Cases, RcptTest,
    ::testing::Values(
        RcptCase{"plain", "TO:<user@example.test>", false, "user", "example.test", E},
        RcptCase{"domain lower-cased, dot dropped", "TO:<User@Example.TEST.>", false, "User",
                 "example.test", E},
        RcptCase{"space after colon tolerated", "TO: <u@example.test>", false, "u", "example.test",
                 E},
        RcptCase{"percent hack stays in the local part", "TO:<u%other.example@example.test>", false,
                 "u%other.example", "example.test", E},
        RcptCase{"bang path stays in the local part", "TO:<other.example!u@example.test>", false,
                 "other.example!u", "example.test", E},
        RcptCase{"quoted local part with @", "TO:<\"u@other.example\"@example.test>", false,
                 "u@other.example", "example.test", E},
        RcptCase{"quoted pair", "TO:<\"a\\\"b\"@example.test>", false, "a\"b", "example.test", E},
        RcptCase{"source route dropped", "TO:<@a.example,@b.example:u@example.test>", false, "u",
                 "example.test", E},
        RcptCase{"ipv4 literal", "TO:<u@[192.0.2.1]>", false, "u", "[192.0.2.1]", E},
        RcptCase{"ipv6 literal", "TO:<u@[IPv6:2001:db8::1]>", false, "u", "[ipv6:2001:db8::1]", E},
        RcptCase{"postmaster", "TO:<Postmaster>", false, "postmaster", "", E},
        RcptCase{"utf8 with SMTPUTF8", "TO:<j\xc3\xbcrgen@example.test>", true, "j\xc3\xbcrgen",
                 "example.test", E},
        RcptCase{"utf8 without SMTPUTF8", "TO:<j\xc3\xbcrgen@example.test>", false, nullptr, "",
                 ParseError::NeedsSmtputf8},
        RcptCase{"invalid utf8", "TO:<j\xc3(rgen@example.test>", true, nullptr, "",
                 ParseError::AddressSyntax},
        RcptCase{"unqualified", "TO:<user>", false, nullptr, "", ParseError::AddressSyntax},
        RcptCase{"two at signs", "TO:<u@other.example@example.test>", false, nullptr, "",
                 ParseError::AddressSyntax},
        RcptCase{"null path", "TO:<>", false, nullptr, "", ParseError::AddressSyntax},
        RcptCase{"no brackets", "TO:u@example.test", false, nullptr, "", ParseError::Syntax},
        RcptCase{"no TO:", "<u@example.test>", false, nullptr, "", ParseError::Syntax},
        RcptCase{"double dot", "TO:<a..b@example.test>", false, nullptr, "",
                 ParseError::AddressSyntax},
        RcptCase{"hyphen label", "TO:<a@-example.test>", false, nullptr, "",
                 ParseError::AddressSyntax},
        RcptCase{"bad literal", "TO:<a@[300.1.1.1]>", false, nullptr, "",
                 ParseError::AddressSyntax},
        RcptCase{
            "local part too long",
            "TO:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test>",
            false, nullptr, "", ParseError::AddressSyntax},
        RcptCase{"unknown parameter", "TO:<u@example.test> FOO=1", false, nullptr, "",
                 ParseError::UnknownParameter},
        RcptCase{"notify never and more", "TO:<u@example.test> NOTIFY=NEVER,DELAY", false, nullptr,
                 "", ParseError::BadParameterValue}));

TEST(RcptParams, NotifyAndOrcpt) {
  auto r = std::get<RcptToArgs>(parse_rcpt_to(
      "TO:<u@example.test> notify=success,delay ORCPT=rfc822;u+40example.test", false));
  EXPECT_EQ(r.notify, mail::NotifySuccess | mail::NotifyDelay);
  EXPECT_EQ(r.orcpt, "rfc822;u@example.test");
}

TEST(MailParams, AllKnownParameters) {
  auto m = std::get<MailFromArgs>(parse_mail_from(
      "FROM:<b\xc3\xb6@example.org> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1"));
  EXPECT_EQ(m.sender.local, "b\xc3\xb6");
  EXPECT_EQ(m.size, 12345u);
  EXPECT_EQ(m.body, mail::BodyType::EightBitMime);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_EQ(m.ret, mail::DsnRet::Headers);
  EXPECT_EQ(m.envid, "id+1");
}

TEST(MailParams, NullSenderAndErrors) {
  EXPECT_TRUE(std::get<MailFromArgs>(parse_mail_from("FROM:<>")).sender.is_null());
  auto error = [](const char* arg) { return std::get<ParseError>(parse_mail_from(arg)); };
  EXPECT_EQ(error("FROM:<a@b.example> SIZE=abc"), ParseError::BadParameterValue);
  EXPECT_EQ(error("FROM:<a@b.example> SIZE=999999999999999999999"), ParseError::BadParameterValue);
  EXPECT_EQ(error("FROM:<a@b.example> SIZE=1 SIZE=2"), ParseError::BadParameterValue);
  EXPECT_EQ(error("FROM:<a@b.example> BODY=BINARYMIME"), ParseError::UnknownParameter);
  EXPECT_EQ(error("FROM:<a@b.example> AUTH=<>"), ParseError::UnknownParameter);
  EXPECT_EQ(error("FROM:<postmaster>"), ParseError::AddressSyntax);
  EXPECT_EQ(error("FROM:<\xc3\xb6@b.example>"), ParseError::NeedsSmtputf8);
  EXPECT_EQ(error("FROM:<a@b.example>junk"), ParseError::Syntax);
}

} // namespace
} // namespace backstop::smtp
