// reply_parser_test: the client's view of server replies (RFC 5321 4.2): single and
// multi-line framing, partial input, malformed lines, enhanced codes and EHLO keywords.
#include "smtp/reply_parser.hpp"

#include <gtest/gtest.h>
#include <string>

namespace backstop::smtp {
namespace {

TEST(ReplyParser, SingleLineWithEnhancedCode) {
  const auto scan = parse_reply("550 5.1.1 <u@example.test>: user unknown\r\n");
  ASSERT_EQ(scan.status, ReplyStatus::Complete);
  EXPECT_EQ(scan.consumed, 42u);
  EXPECT_EQ(scan.reply.code, 550);
  ASSERT_EQ(scan.reply.lines.size(), 1u);
  EXPECT_EQ(scan.reply.lines[0], "5.1.1 <u@example.test>: user unknown");
  EXPECT_EQ(scan.reply.enhanced, "5.1.1");
}

TEST(ReplyParser, MultiLineKeepsEveryLineInOrder) {
  const std::string wire = "250-mx.example.test Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n";
  const auto scan = parse_reply(wire);
  ASSERT_EQ(scan.status, ReplyStatus::Complete);
  EXPECT_EQ(scan.consumed, wire.size());
  EXPECT_EQ(scan.reply.code, 250);
  ASSERT_EQ(scan.reply.lines.size(), 3u);
  EXPECT_EQ(scan.reply.lines[0], "mx.example.test Hello");
  EXPECT_EQ(scan.reply.lines[2], "SIZE 1000");
  EXPECT_EQ(scan.reply.text(), "mx.example.test Hello\nPIPELINING\nSIZE 1000");
  EXPECT_EQ(scan.reply.enhanced, "");
}

TEST(ReplyParser, ConsumesOneReplyAndLeavesThePipelinedRest) {
  const std::string first = "250 2.1.0 Ok\r\n";
  const auto scan = parse_reply(first + "250 2.1.5 Ok\r\n354 go ahead\r\n");
  ASSERT_EQ(scan.status, ReplyStatus::Complete);
  EXPECT_EQ(scan.consumed, first.size());
  EXPECT_EQ(scan.reply.enhanced, "2.1.0");
}

TEST(ReplyParser, BareCodeAndBareLfAreAccepted) {
  auto scan = parse_reply("250\r\n");
  ASSERT_EQ(scan.status, ReplyStatus::Complete);
  EXPECT_EQ(scan.reply.code, 250);
  ASSERT_EQ(scan.reply.lines.size(), 1u);
  EXPECT_EQ(scan.reply.lines[0], "");
  scan = parse_reply("220-one\n220 two\n");
  ASSERT_EQ(scan.status, ReplyStatus::Complete);
  EXPECT_EQ(scan.consumed, 16u);
  EXPECT_EQ(scan.reply.text(), "one\ntwo");
}

TEST(ReplyParser, PartialInputNeedsMore) {
  const std::string wire = "250-first\r\n250-second\r\n250 last\r\n";
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_EQ(parse_reply(wire.substr(0, n)).status, ReplyStatus::NeedMore) << n;
  }
  EXPECT_EQ(parse_reply(wire).status, ReplyStatus::Complete);
}

TEST(ReplyParser, MalformedLines) {
  for (const auto* wire : {"25\r\n", "abc text\r\n", "2x0 text\r\n", "250text\r\n", "250_text\r\n",
                           "2500 text\r\n", " 250 text\r\n", "\r\n"}) {
    EXPECT_EQ(parse_reply(wire).status, ReplyStatus::Malformed) << wire;
  }
}

TEST(ReplyParser, CodeChangingInsideAReplyIsMalformed) {
  EXPECT_EQ(parse_reply("250-first\r\n251 second\r\n").status, ReplyStatus::Malformed);
  // A bad later line is seen as soon as it is complete, without waiting for the end.
  EXPECT_EQ(parse_reply("250-first\r\nxyz\r\n250-more").status, ReplyStatus::Malformed);
}

TEST(ReplyParser, LineAndLineCountLimits) {
  const std::string long_text(100, 'a');
  EXPECT_EQ(parse_reply("250 " + long_text + "\r\n", 104).status, ReplyStatus::Complete);
  EXPECT_EQ(parse_reply("250 " + long_text + "\r\n", 103).status, ReplyStatus::Malformed);
  // An unterminated line longer than the limit is refused before its end arrives.
  EXPECT_EQ(parse_reply("250 " + long_text, 50).status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply("250 " + long_text, 200).status, ReplyStatus::NeedMore);

  std::string lines;
  for (int i = 0; i < 4; ++i) {
    lines += "250-line\r\n";
  }
  EXPECT_EQ(parse_reply(lines + "250 end\r\n", 4096, 5).status, ReplyStatus::Complete);
  EXPECT_EQ(parse_reply(lines + "250-line\r\n250 end\r\n", 4096, 5).status, ReplyStatus::Malformed);
  EXPECT_EQ(parse_reply(lines + "250-line\r\n", 4096, 5).status, ReplyStatus::Malformed);
}

TEST(ReplyParser, EnhancedCodeOnlyWhenWellFormed) {
  struct Case {
    const char* wire;
    const char* enhanced;
  };
  for (const auto& c :
       {Case{"451 4.3.0 try later\r\n", "4.3.0"}, Case{"250 2.0.0\r\n", "2.0.0"},
        Case{"552 5.3.4\r\n", "5.3.4"}, Case{"550 5.123.456 detail\r\n", "5.123.456"},
        Case{"550 5.1234.1 too long\r\n", ""}, Case{"550 5.1.1234 too long\r\n", ""},
        Case{"550 3.1.1 no such class\r\n", ""}, Case{"550 5.1 short\r\n", ""},
        Case{"550 5.1.1x text\r\n", ""}, Case{"550 user 5.1.1 unknown\r\n", ""},
        Case{"550-5.7.1 first\r\n550 5.7.1 second\r\n", "5.7.1"}}) {
    const auto scan = parse_reply(c.wire);
    ASSERT_EQ(scan.status, ReplyStatus::Complete) << c.wire;
    EXPECT_EQ(scan.reply.enhanced, c.enhanced) << c.wire;
  }
}

// RFC 3463 2: the class of the enhanced code repeats the reply's class; a code that
// contradicts it is not an enhanced status code of this reply.
TEST(ReplyParser, EnhancedCodeOfAnotherClassIsIgnored) {
  EXPECT_EQ(parse_reply("550 4.1.1 mixed up\r\n").reply.enhanced, "");
  EXPECT_EQ(parse_reply("250 5.0.0 mixed up\r\n").reply.enhanced, "");
}

ParsedReply ehlo(const std::string& wire) {
  const auto scan = parse_reply(wire);
  EXPECT_EQ(scan.status, ReplyStatus::Complete) << wire;
  return scan.reply;
}

TEST(EhloExtensions, EveryKnownKeyword) {
  const auto ext = parse_ehlo_extensions(
      ehlo("250-mx.example.test greets you\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
           "250-STARTTLS\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250-CHUNKING\r\n"
           "250 ENHANCEDSTATUSCODES\r\n"));
  EXPECT_TRUE(ext.pipelining);
  EXPECT_TRUE(ext.starttls);
  EXPECT_TRUE(ext.eightbitmime);
  EXPECT_TRUE(ext.smtputf8);
  EXPECT_TRUE(ext.dsn);
  EXPECT_TRUE(ext.chunking);
  EXPECT_TRUE(ext.enhanced_status_codes);
  EXPECT_EQ(ext.size, 52428800u);
}

TEST(EhloExtensions, GreetingLineIsNotAKeyword) {
  // The first line is the server's name and greeting, even when it reads like a keyword.
  const auto ext = parse_ehlo_extensions(ehlo("250-STARTTLS\r\n250 8BITMIME\r\n"));
  EXPECT_FALSE(ext.starttls);
  EXPECT_TRUE(ext.eightbitmime);
  EXPECT_FALSE(parse_ehlo_extensions(ehlo("250 mx.example.test\r\n")).pipelining);
}

TEST(EhloExtensions, KeywordsAreCaseInsensitive) {
  const auto ext = parse_ehlo_extensions(ehlo("250-mx\r\n250-starttls\r\n250-Size 1000\r\n"
                                              "250 pipelining\r\n"));
  EXPECT_TRUE(ext.starttls);
  EXPECT_TRUE(ext.pipelining);
  EXPECT_EQ(ext.size, 1000u);
}

TEST(EhloExtensions, SizeWithoutOrWithABadLimitMeansNoLimit) {
  EXPECT_EQ(parse_ehlo_extensions(ehlo("250-mx\r\n250 SIZE\r\n")).size, 0u);
  EXPECT_EQ(parse_ehlo_extensions(ehlo("250-mx\r\n250 SIZE 0\r\n")).size, 0u);
  EXPECT_EQ(parse_ehlo_extensions(ehlo("250-mx\r\n250 SIZE many\r\n")).size, 0u);
  EXPECT_EQ(parse_ehlo_extensions(ehlo("250-mx\r\n250 SIZE 99999999999999999999999\r\n")).size, 0u);
}

TEST(EhloExtensions, UnknownAndLookAlikeKeywordsAreIgnored) {
  const auto ext = parse_ehlo_extensions(
      ehlo("250-mx\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLSX\r\n250-X-PIPELINING\r\n"
           "250-DSNX\r\n250 8BITMIMES\r\n"));
  EXPECT_FALSE(ext.starttls);
  EXPECT_FALSE(ext.pipelining);
  EXPECT_FALSE(ext.dsn);
  EXPECT_FALSE(ext.eightbitmime);
}

} // namespace
} // namespace backstop::smtp
