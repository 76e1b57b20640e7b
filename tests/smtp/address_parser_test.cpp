// address_parser_test: RFC 5321 paths, relay tricks (percent hack, bang path, user@a@b,
// quoted "@", source routes), address literals, SMTPUTF8, and every ESMTP parameter of MAIL
// and RCPT.
#include "smtp/address_parser.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>
#include <optional>
#include <string>

namespace backstop::smtp {
namespace {

using backstop::testing::LabelName;

const char* error_name(ParseError e) {
  switch (e) {
  case ParseError::Syntax:
    return "Syntax";
  case ParseError::AddressSyntax:
    return "AddressSyntax";
  case ParseError::UnknownParameter:
    return "UnknownParameter";
  case ParseError::BadParameterValue:
    return "BadParameterValue";
  case ParseError::NeedsSmtputf8:
    return "NeedsSmtputf8";
  }
  return "?";
}

// Paths of a given total length (brackets included), local part 64 octets.
std::string path_of_length(std::size_t total) {
  const std::size_t domain_length = total - 67; // "<" + 64 + "@" + domain + ">"
  std::string domain;
  while (domain.size() < domain_length) {
    if (!domain.empty()) {
      domain += '.';
    }
    domain += std::string(std::min<std::size_t>(63, domain_length - domain.size()), 'd');
    if (domain.back() == '.') {
      domain.back() = 'd';
    }
  }
  return "<" + std::string(64, 'l') + "@" + domain + ">";
}

// ---------------------------------------------------------------------------------------
// parse_path directly, with its options.

struct PathCase {
  std::string label;
  std::string path;
  PathOptions options;
  std::optional<ParseError> error; // nullopt: expect an address
  std::string local;
  std::string domain;
};

void PrintTo(const PathCase& c, std::ostream* os) { *os << c.label; }

class PathTest : public ::testing::TestWithParam<PathCase> {};

TEST_P(PathTest, Parses) {
  const auto& c = GetParam();
  auto result = parse_path(c.path, c.options);
  if (c.error) {
    ASSERT_TRUE(std::holds_alternative<ParseError>(result))
        << c.label << ": accepted as " << std::get<mail::Address>(result).local << " @ "
        << std::get<mail::Address>(result).domain;
    EXPECT_STREQ(error_name(std::get<ParseError>(result)), error_name(*c.error)) << c.label;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<mail::Address>(result))
      << c.label << ": " << error_name(std::get<ParseError>(result));
  EXPECT_EQ(std::get<mail::Address>(result).local, c.local) << c.label;
  EXPECT_EQ(std::get<mail::Address>(result).domain, c.domain) << c.label;
}

constexpr PathOptions plain{false, false};
constexpr PathOptions utf8{true, false};
constexpr PathOptions null_ok{false, true};
constexpr auto Syntax = ParseError::Syntax;
constexpr auto AddressSyntax = ParseError::AddressSyntax;
constexpr auto NeedsSmtputf8 = ParseError::NeedsSmtputf8;

INSTANTIATE_TEST_SUITE_P(
    Cases, PathTest,
    ::testing::Values(
        PathCase{"plain", "<u@example.test>", plain, {}, "u", "example.test"},
        PathCase{"no brackets", "u@example.test", plain, Syntax, "", ""},
        PathCase{"only open bracket", "<u@example.test", plain, Syntax, "", ""},
        PathCase{"lone bracket", "<", plain, Syntax, "", ""},
        PathCase{"empty", "", plain, Syntax, "", ""},
        PathCase{"null path refused by default", "<>", plain, AddressSyntax, "", ""},
        PathCase{"null path allowed", "<>", null_ok, {}, "", ""},
        PathCase{"postmaster", "<postmaster>", plain, {}, "postmaster", ""},
        PathCase{"postmaster any case", "<PoStMaStEr>", plain, {}, "postmaster", ""},
        PathCase{"postmaster with domain is a mailbox",
                 "<Postmaster@Example.TEST>",
                 plain,
                 {},
                 "Postmaster",
                 "example.test"},
        PathCase{"postmasterx is unqualified", "<postmasterx>", plain, AddressSyntax, "", ""},
        PathCase{"source route dropped",
                 "<@a.example,@b.example:u@example.test>",
                 plain,
                 {},
                 "u",
                 "example.test"},
        PathCase{
            "one-hop source route", "<@a.example:u@example.test>", plain, {}, "u", "example.test"},
        PathCase{"source route without colon", "<@a.example,u@example.test>", plain, AddressSyntax,
                 "", ""},
        PathCase{"source route with bad hop", "<@-a.example:u@example.test>", plain, AddressSyntax,
                 "", ""},
        PathCase{"source route hop without at", "<@a.example,b.example:u@example.test>", plain,
                 AddressSyntax, "", ""},
        PathCase{"source route to nothing", "<@a.example:>", plain, AddressSyntax, "", ""},
        PathCase{"ipv4 literal", "<u@[127.0.0.1]>", plain, {}, "u", "[127.0.0.1]"},
        PathCase{"ipv6 literal loopback", "<u@[IPv6:::1]>", plain, {}, "u", "[ipv6:::1]"},
        PathCase{
            "ipv6 literal full", "<u@[IPv6:2001:db8::1]>", plain, {}, "u", "[ipv6:2001:db8::1]"},
        PathCase{"ipv6 literal without tag", "<u@[::1]>", plain, AddressSyntax, "", ""},
        PathCase{"ipv4 literal out of range", "<u@[300.1.1.1]>", plain, AddressSyntax, "", ""},
        PathCase{"ipv4 literal short", "<u@[1.2.3]>", plain, AddressSyntax, "", ""},
        PathCase{"empty literal", "<u@[]>", plain, AddressSyntax, "", ""},
        PathCase{"literal with trailing dot", "<u@[127.0.0.1].>", plain, AddressSyntax, "", ""},
        PathCase{"literal without closing bracket", "<u@[127.0.0.1>", plain, AddressSyntax, "", ""},
        PathCase{"path exactly 256 octets",
                 path_of_length(256),
                 plain,
                 {},
                 std::string(64, 'l'),
                 path_of_length(256).substr(66, 256 - 67)},
        // RFC 5321 4.5.3.1.3: 256 octets for the whole path, punctuation included.
        PathCase{"path of 257 octets", path_of_length(257), plain, AddressSyntax, "", ""},
        PathCase{"path of 259 octets", path_of_length(259), plain, AddressSyntax, "", ""},
        PathCase{"utf8 allowed",
                 "<j\xc3\xbcrgen@b\xc3\xbc\x63her.example>",
                 utf8,
                 {},
                 "j\xc3\xbcrgen",
                 "b\xc3\xbc\x63her.example"},
        PathCase{"utf8 domain without smtputf8", "<u@b\xc3\xbc\x63her.example>", plain,
                 NeedsSmtputf8, "", ""},
        PathCase{"overlong utf8", "<\xc0\xafu@example.test>", utf8, AddressSyntax, "", ""},
        PathCase{"utf8 surrogate", "<\xed\xa0\x80u@example.test>", utf8, AddressSyntax, "", ""},
        PathCase{"truncated utf8", "<u\xe2\x82@example.test>", utf8, AddressSyntax, "", ""},
        PathCase{"latin1 byte with smtputf8", "<j\xfcrgen@example.test>", utf8, AddressSyntax, "",
                 ""}),
    LabelName{});

// ---------------------------------------------------------------------------------------
// RCPT TO: addresses, relay tricks, and their parameters.

struct RcptCase {
  std::string label;
  std::string argument;
  bool utf8;
  std::optional<ParseError> error;
  std::string local;
  std::string domain;
  std::uint8_t notify = mail::NotifyNone;
  std::string orcpt;
};

void PrintTo(const RcptCase& c, std::ostream* os) { *os << c.label; }

class RcptTest : public ::testing::TestWithParam<RcptCase> {};

TEST_P(RcptTest, Parses) {
  const auto& c = GetParam();
  auto result = parse_rcpt_to(c.argument, c.utf8);
  if (c.error) {
    ASSERT_TRUE(std::holds_alternative<ParseError>(result))
        << c.label << ": accepted as " << std::get<RcptToArgs>(result).recipient.local << " @ "
        << std::get<RcptToArgs>(result).recipient.domain;
    EXPECT_STREQ(error_name(std::get<ParseError>(result)), error_name(*c.error)) << c.label;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<RcptToArgs>(result))
      << c.label << ": " << error_name(std::get<ParseError>(result));
  const auto& args = std::get<RcptToArgs>(result);
  EXPECT_EQ(args.recipient.local, c.local) << c.label;
  EXPECT_EQ(args.recipient.domain, c.domain) << c.label;
  EXPECT_EQ(args.notify, c.notify) << c.label;
  EXPECT_EQ(args.orcpt, c.orcpt) << c.label;
}

constexpr auto UnknownParameter = ParseError::UnknownParameter;
constexpr auto BadValue = ParseError::BadParameterValue;
constexpr std::uint8_t S = mail::NotifySuccess;
constexpr std::uint8_t F = mail::NotifyFailure;
constexpr std::uint8_t D = mail::NotifyDelay;
constexpr std::uint8_t N = mail::NotifyNever;

RcptCase ok(std::string label, std::string argument, std::string local, std::string domain,
            std::uint8_t notify = 0, std::string orcpt = "", bool utf8 = false) {
  return {std::move(label), std::move(argument), utf8,   std::nullopt,
          std::move(local), std::move(domain),   notify, std::move(orcpt)};
}
RcptCase bad(std::string label, std::string argument, ParseError e, bool utf8 = false) {
  return {std::move(label), std::move(argument), utf8, e, "", "", 0, ""};
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, RcptTest,
    ::testing::Values(
        ok("plain", "TO:<user@example.test>", "user", "example.test"),
        ok("lower case keyword", "to:<user@example.test>", "user", "example.test"),
        ok("domain lower cased, root dot dropped", "TO:<User@Example.TEST.>", "User",
           "example.test"),
        ok("one space after colon tolerated", "TO: <u@example.test>", "u", "example.test"),
        bad("two spaces after colon", "TO:  <u@example.test>", Syntax),
        bad("space before colon", "TO :<u@example.test>", Syntax),
        bad("no TO:", "<u@example.test>", Syntax), bad("FROM: in RCPT", "FROM:<u@x.test>", Syntax),
        bad("no brackets", "TO:u@example.test", Syntax),
        bad("unbalanced bracket", "TO:<u@example.test", Syntax),
        bad("junk after path", "TO:<u@example.test>junk", Syntax),
        ok("percent hack stays in the local part", "TO:<u%other.example@example.test>",
           "u%other.example", "example.test"),
        ok("bang path stays in the local part", "TO:<other.example!u@example.test>",
           "other.example!u", "example.test"),
        bad("user at a at b", "TO:<u@other.example@example.test>", AddressSyntax),
        bad("user at a at b, empty last", "TO:<u@example.test@>", AddressSyntax),
        ok("quoted local part with @", "TO:<\"u@other.example\"@example.test>", "u@other.example",
           "example.test"),
        ok("quoted local with > inside", "TO:<\"a>b\"@example.test>", "a>b", "example.test"),
        ok("quoted pair", "TO:<\"a\\\"b\"@example.test>", "a\"b", "example.test"),
        ok("quoted space", "TO:<\"a b\"@example.test>", "a b", "example.test"),
        bad("quoted without domain", "TO:<\"u@other.example\">", AddressSyntax),
        bad("quoted then junk", "TO:<\"u\"x@example.test>", AddressSyntax),
        bad("unterminated quote", "TO:<\"u@example.test>", Syntax),
        bad("control char in quotes", "TO:<\"a\x01\"@example.test>", AddressSyntax),
        ok("source route dropped", "TO:<@a.example,@b.example:u@example.test>", "u",
           "example.test"),
        ok("ipv4 literal", "TO:<u@[127.0.0.1]>", "u", "[127.0.0.1]"),
        ok("ipv6 literal", "TO:<u@[IPv6:::1]>", "u", "[ipv6:::1]"),
        ok("postmaster", "TO:<Postmaster>", "postmaster", ""),
        bad("unqualified", "TO:<user>", AddressSyntax),
        bad("empty local", "TO:<@example.test>", AddressSyntax),
        bad("null path", "TO:<>", AddressSyntax),
        bad("leading dot", "TO:<.a@example.test>", AddressSyntax),
        bad("trailing dot in local", "TO:<a.@example.test>", AddressSyntax),
        bad("double dot", "TO:<a..b@example.test>", AddressSyntax),
        bad("space in local", "TO:<a b@example.test>", AddressSyntax),
        bad("comma in local", "TO:<a,b@example.test>", AddressSyntax),
        bad("hyphen label start", "TO:<a@-example.test>", AddressSyntax),
        bad("hyphen label end", "TO:<a@example-.test>", AddressSyntax),
        bad("empty label", "TO:<a@example..test>", AddressSyntax),
        bad("two root dots", "TO:<a@example.test..>", AddressSyntax),
        bad("underscore in domain", "TO:<a@ex_ample.test>", AddressSyntax),
        bad("domain only a dot", "TO:<a@.>", AddressSyntax),
        ok("label of 63", "TO:<a@" + std::string(63, 'x') + ".test>", "a",
           std::string(63, 'x') + ".test"),
        bad("label of 64", "TO:<a@" + std::string(64, 'x') + ".test>", AddressSyntax),
        ok("local part of 64", "TO:<" + std::string(64, 'a') + "@example.test>",
           std::string(64, 'a'), "example.test"),
        bad("local part of 65", "TO:<" + std::string(65, 'a') + "@example.test>", AddressSyntax),
        ok("utf8 with SMTPUTF8", "TO:<j\xc3\xbcrgen@example.test>", "j\xc3\xbcrgen", "example.test",
           0, "", true),
        bad("utf8 without SMTPUTF8", "TO:<j\xc3\xbcrgen@example.test>", NeedsSmtputf8),
        bad("utf8 quoted without SMTPUTF8", "TO:<\"j\xc3\xbcrgen\"@example.test>", NeedsSmtputf8),
        bad("invalid utf8", "TO:<j\xc3(rgen@example.test>", AddressSyntax, true)),
    LabelName{});

INSTANTIATE_TEST_SUITE_P(
    Parameters, RcptTest,
    ::testing::Values(
        ok("notify never", "TO:<u@example.test> NOTIFY=NEVER", "u", "example.test", N),
        ok("notify success", "TO:<u@example.test> NOTIFY=SUCCESS", "u", "example.test", S),
        ok("notify failure", "TO:<u@example.test> NOTIFY=FAILURE", "u", "example.test", F),
        ok("notify delay", "TO:<u@example.test> NOTIFY=DELAY", "u", "example.test", D),
        ok("notify success,failure", "TO:<u@example.test> NOTIFY=SUCCESS,FAILURE", "u",
           "example.test", S | F),
        ok("notify all three, lower case", "TO:<u@example.test> notify=delay,failure,success", "u",
           "example.test", S | F | D),
        bad("notify never and delay", "TO:<u@example.test> NOTIFY=NEVER,DELAY", BadValue),
        bad("notify success and never", "TO:<u@example.test> NOTIFY=SUCCESS,NEVER", BadValue),
        bad("notify twice the same", "TO:<u@example.test> NOTIFY=DELAY,DELAY", BadValue),
        bad("notify empty", "TO:<u@example.test> NOTIFY=", BadValue),
        bad("notify without value", "TO:<u@example.test> NOTIFY", BadValue),
        bad("notify trailing comma", "TO:<u@example.test> NOTIFY=SUCCESS,", BadValue),
        bad("notify empty item", "TO:<u@example.test> NOTIFY=SUCCESS,,DELAY", BadValue),
        bad("notify unknown", "TO:<u@example.test> NOTIFY=ALWAYS", BadValue),
        ok("orcpt xtext decoded", "TO:<u@example.test> ORCPT=rfc822;u+40example.test", "u",
           "example.test", 0, "rfc822;u@example.test"),
        ok("orcpt plain", "TO:<u@example.test> ORCPT=rfc822;u@example.test", "u", "example.test", 0,
           "rfc822;u@example.test"),
        ok("orcpt and notify", "TO:<u@example.test> NOTIFY=FAILURE ORCPT=rfc822;a+2Bb@x.test", "u",
           "example.test", F, "rfc822;a+b@x.test"),
        bad("orcpt without type", "TO:<u@example.test> ORCPT=u@example.test", BadValue),
        bad("orcpt empty type", "TO:<u@example.test> ORCPT=;u@example.test", BadValue),
        bad("orcpt bad xtext", "TO:<u@example.test> ORCPT=rfc822;u+4", BadValue),
        bad("orcpt xtext with =", "TO:<u@example.test> ORCPT=rfc822;a=b", BadValue),
        bad("orcpt too long", "TO:<u@example.test> ORCPT=rfc822;" + std::string(501, 'a'),
            BadValue),
        // RFC 3461 4.2: the decoded ORCPT is an address; CR LF would end up raw in the DSN
        // (Original-Recipient: header) the queue writes.
        bad("orcpt decodes to CRLF", "TO:<u@example.test> ORCPT=rfc822;a+0D+0ABcc:+20x", BadValue),
        bad("duplicate notify", "TO:<u@example.test> NOTIFY=DELAY NOTIFY=DELAY", BadValue),
        bad("duplicate orcpt, other case",
            "TO:<u@example.test> ORCPT=rfc822;a@x.test orcpt=rfc822;a@x.test", BadValue),
        bad("mail parameter in rcpt", "TO:<u@example.test> SIZE=10", UnknownParameter),
        bad("unknown keyword", "TO:<u@example.test> FOO=1", UnknownParameter),
        bad("bad keyword characters", "TO:<u@example.test> F_O=1", BadValue),
        ok("extra spaces between parameters", "TO:<u@example.test>  NOTIFY=NEVER  ", "u",
           "example.test", N)),
    LabelName{});

// ---------------------------------------------------------------------------------------
// MAIL FROM: sender and every parameter.

struct MailCase {
  std::string label;
  std::string argument;
  std::optional<ParseError> error;
  std::string local;
  std::string domain;
  std::uint64_t size = 0;
  mail::BodyType body = mail::BodyType::SevenBit;
  bool smtputf8 = false;
  mail::DsnRet ret = mail::DsnRet::Unset;
  std::string envid;
};

void PrintTo(const MailCase& c, std::ostream* os) { *os << c.label; }

class MailTest : public ::testing::TestWithParam<MailCase> {};

TEST_P(MailTest, Parses) {
  const auto& c = GetParam();
  auto result = parse_mail_from(c.argument);
  if (c.error) {
    ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.label << ": accepted";
    EXPECT_STREQ(error_name(std::get<ParseError>(result)), error_name(*c.error)) << c.label;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<MailFromArgs>(result))
      << c.label << ": " << error_name(std::get<ParseError>(result));
  const auto& m = std::get<MailFromArgs>(result);
  EXPECT_EQ(m.sender.local, c.local) << c.label;
  EXPECT_EQ(m.sender.domain, c.domain) << c.label;
  EXPECT_EQ(m.size, c.size) << c.label;
  EXPECT_EQ(m.body, c.body) << c.label;
  EXPECT_EQ(m.smtputf8, c.smtputf8) << c.label;
  EXPECT_EQ(m.ret, c.ret) << c.label;
  EXPECT_EQ(m.envid, c.envid) << c.label;
}

MailCase from(std::string label, std::string argument, std::string local = "a",
              std::string domain = "b.example") {
  MailCase c;
  c.label = std::move(label);
  c.argument = std::move(argument);
  c.local = std::move(local);
  c.domain = std::move(domain);
  return c;
}
MailCase with_size(MailCase c, std::uint64_t size) {
  c.size = size;
  return c;
}
MailCase with_body(MailCase c, mail::BodyType body) {
  c.body = body;
  return c;
}
MailCase with_utf8(MailCase c) {
  c.smtputf8 = true;
  return c;
}
MailCase with_ret(MailCase c, mail::DsnRet ret) {
  c.ret = ret;
  return c;
}
MailCase with_envid(MailCase c, std::string envid) {
  c.envid = std::move(envid);
  return c;
}
MailCase fails(std::string label, std::string argument, ParseError e) {
  MailCase c;
  c.label = std::move(label);
  c.argument = std::move(argument);
  c.error = e;
  return c;
}

const std::string A = "FROM:<a@b.example>";

INSTANTIATE_TEST_SUITE_P(
    Senders, MailTest,
    ::testing::Values(
        from("plain", A), from("lower case keyword", "from:<a@b.example>"),
        from("space after colon", "FROM: <a@b.example>"), from("null sender", "FROM:<>", "", ""),
        with_size(with_body(from("null sender, params", "FROM:<> SIZE=10 BODY=8BITMIME", "", ""),
                            mail::BodyType::EightBitMime),
                  10),
        from("source route", "FROM:<@relay.example:a@b.example>"),
        from("address literal", "FROM:<a@[192.0.2.1]>", "a", "[192.0.2.1]"),
        from("percent hack", "FROM:<a%c.example@b.example>", "a%c.example"),
        fails("postmaster only for RCPT", "FROM:<postmaster>", AddressSyntax),
        fails("unqualified", "FROM:<a>", AddressSyntax),
        fails("user at a at b", "FROM:<a@c.example@b.example>", AddressSyntax),
        fails("no colon", "FROM<a@b.example>", Syntax), fails("TO in MAIL", "TO:<a@b>", Syntax),
        fails("empty argument", "", Syntax), fails("no brackets", "FROM:a@b.example", Syntax),
        fails("junk after path", "FROM:<a@b.example>junk", Syntax),
        fails("utf8 without SMTPUTF8", "FROM:<\xc3\xb6@b.example>", NeedsSmtputf8),
        with_utf8(from("utf8 with SMTPUTF8", "FROM:<\xc3\xb6@b.example> SMTPUTF8", "\xc3\xb6")),
        with_utf8(from("SMTPUTF8 before path check, lower case",
                       "FROM:<\xc3\xb6@b.example> smtputf8", "\xc3\xb6")),
        fails("invalid utf8 with SMTPUTF8", "FROM:<\xc3@b.example> SMTPUTF8", AddressSyntax)),
    LabelName{});

INSTANTIATE_TEST_SUITE_P(
    Parameters, MailTest,
    ::testing::Values(
        with_size(from("size", A + " SIZE=12345"), 12345),
        with_size(from("size zero", A + " SIZE=0"), 0),
        with_size(from("size lower case", A + " size=7"), 7),
        with_size(from("size uint64 max", A + " SIZE=18446744073709551615"),
                  18446744073709551615ull),
        fails("size uint64 max plus one", A + " SIZE=18446744073709551616", BadValue),
        fails("size overflow", A + " SIZE=999999999999999999999", BadValue),
        fails("size not a number", A + " SIZE=abc", BadValue),
        fails("size negative", A + " SIZE=-1", BadValue),
        fails("size plus sign", A + " SIZE=+1", BadValue),
        fails("size trailing junk", A + " SIZE=10k", BadValue),
        fails("size empty", A + " SIZE=", BadValue), fails("size no value", A + " SIZE", BadValue),
        fails("size hex", A + " SIZE=0x10", BadValue),
        fails("size duplicated", A + " SIZE=1 SIZE=2", BadValue),
        fails("size duplicated other case", A + " SIZE=1 size=1", BadValue),
        with_body(from("body 7bit", A + " BODY=7BIT"), mail::BodyType::SevenBit),
        with_body(from("body 8bitmime", A + " BODY=8BITMIME"), mail::BodyType::EightBitMime),
        with_body(from("body lower case", A + " body=8bitmime"), mail::BodyType::EightBitMime),
        fails("body binarymime not offered", A + " BODY=BINARYMIME", UnknownParameter),
        fails("body unknown", A + " BODY=FOO", BadValue),
        fails("body empty", A + " BODY=", BadValue), fails("body no value", A + " BODY", BadValue),
        fails("body duplicated", A + " BODY=7BIT BODY=8BITMIME", BadValue),
        with_utf8(from("smtputf8", A + " SMTPUTF8")),
        fails("smtputf8 with value", A + " SMTPUTF8=yes", BadValue),
        fails("smtputf8 duplicated", A + " SMTPUTF8 SMTPUTF8", BadValue),
        with_ret(from("ret full", A + " RET=FULL"), mail::DsnRet::Full),
        with_ret(from("ret hdrs", A + " RET=HDRS"), mail::DsnRet::Headers),
        with_ret(from("ret lower case", A + " ret=hdrs"), mail::DsnRet::Headers),
        fails("ret unknown", A + " RET=BODY", BadValue), fails("ret empty", A + " RET=", BadValue),
        fails("ret duplicated", A + " RET=FULL RET=HDRS", BadValue),
        with_envid(from("envid plain", A + " ENVID=abc123"), "abc123"),
        with_envid(from("envid xtext", A + " ENVID=id+2B1+3D2"), "id+1=2"),
        with_envid(from("envid lower hex accepted", A + " ENVID=a+2bb"), "a+b"),
        with_envid(from("envid of 100", A + " ENVID=" + std::string(100, 'e')),
                   std::string(100, 'e')),
        fails("envid of 101", A + " ENVID=" + std::string(101, 'e'), BadValue),
        fails("envid empty", A + " ENVID=", BadValue),
        fails("envid dangling plus", A + " ENVID=ab+", BadValue),
        fails("envid short escape", A + " ENVID=ab+4", BadValue),
        fails("envid bad hex", A + " ENVID=ab+G1", BadValue),
        fails("envid raw equals", A + " ENVID=a=b", BadValue),
        fails("envid non-ascii", A + " ENVID=a\xc3\xb6", BadValue),
        fails("envid duplicated", A + " ENVID=a ENVID=b", BadValue),
        // RFC 3461 4.4: the envelope id is printable US-ASCII. Decoded CR LF goes raw into
        // the "Original-Envelope-Id:" line of the DSNs the queue writes (header injection).
        fails("envid decodes to CRLF", A + " ENVID=x+0D+0ABcc:+20evil@x.test", BadValue),
        fails("envid decodes to NUL", A + " ENVID=x+00y", BadValue),
        with_ret(with_envid(with_utf8(with_body(with_size(from("all parameters",
                                                               "FROM:<b\xc3\xb6@example.org> "
                                                               "SIZE=12345 BODY=8BITMIME "
                                                               "SMTPUTF8 RET=HDRS ENVID=id+2B1",
                                                               "b\xc3\xb6", "example.org"),
                                                          12345),
                                                mail::BodyType::EightBitMime)),
                            "id+1"),
                 mail::DsnRet::Headers),
        fails("unknown keyword", A + " FOO=1", UnknownParameter),
        fails("unknown keyword without value", A + " XYZZY", UnknownParameter),
        fails("auth not offered", A + " AUTH=<>", UnknownParameter),
        fails("rcpt parameter in mail", A + " NOTIFY=NEVER", UnknownParameter),
        fails("empty keyword", A + " =1", BadValue),
        fails("bad keyword characters", A + " SI.ZE=1", BadValue),
        fails("tab separated parameter", A + "\tSIZE=1", Syntax)),
    LabelName{});

// Parameter errors and path errors together: every combination gives one of the two.
TEST(MailParams, ParameterAndPathErrorsBothReject) {
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse_mail_from("FROM:<a> FOO=1")));
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse_mail_from("FROM:<a> SIZE=x")));
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse_rcpt_to("TO:<a> FOO=1", false)));
}

// The wire form of an accepted address parses back to the same address (what the queue
// sends to the next hop is what we accepted).
TEST(RcptAddress, ToStringRoundTrips) {
  for (const char* arg :
       {"TO:<u@example.test>", "TO:<\"u@other\"@example.test>", "TO:<\"a b\\\"c\"@example.test>",
        "TO:<u%x@example.test>", "TO:<x!u@example.test>", "TO:<u@[IPv6:::1]>",
        "TO:<\"a..b\"@example.test>", "TO:<\"\"@example.test>"}) {
    auto first = parse_rcpt_to(arg, false);
    ASSERT_TRUE(std::holds_alternative<RcptToArgs>(first)) << arg;
    const auto& address = std::get<RcptToArgs>(first).recipient;
    auto again = parse_rcpt_to("TO:<" + address.to_string() + ">", false);
    ASSERT_TRUE(std::holds_alternative<RcptToArgs>(again)) << arg << " -> " << address.to_string();
    EXPECT_EQ(std::get<RcptToArgs>(again).recipient, address) << arg;
  }
}

} // namespace
} // namespace backstop::smtp
