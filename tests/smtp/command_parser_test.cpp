// command_parser_test: CRLF framing (bare CR/LF, limits, pipelined lines) and verb recognition.
#include "smtp/command_parser.hpp"
#include "test_names.hpp"

#include <gtest/gtest.h>
#include <string>

namespace backstop::smtp {
namespace {

using backstop::testing::LabelName;

struct FrameCase {
  std::string label;
  std::string input;
  std::size_t max_line;
  LineStatus status;
  std::size_t length;
};

void PrintTo(const FrameCase& c, std::ostream* os) { *os << c.label; }

class FrameTest : public ::testing::TestWithParam<FrameCase> {};

TEST_P(FrameTest, Frames) {
  const auto& c = GetParam();
  const auto scan = find_command_line(c.input, c.max_line);
  EXPECT_EQ(scan.status, c.status) << c.label;
  EXPECT_EQ(scan.length, c.length) << c.label;
  if (scan.status != LineStatus::NeedMore) {
    EXPECT_GT(scan.length, 0u) << c.label << ": must make progress";
    EXPECT_LE(scan.length, c.input.size()) << c.label;
  }
}

const std::string s14(14, 'a'); // 14 + CRLF = 16 = the limit used below
const std::string s15(15, 'a');
const std::string s20(20, 'a');

INSTANTIATE_TEST_SUITE_P(
    Cases, FrameTest,
    ::testing::Values(
        FrameCase{"complete", "NOOP\r\n", 512, LineStatus::Complete, 6},
        FrameCase{"complete first of pipelined", "NOOP\r\nQUIT\r\n", 512, LineStatus::Complete, 6},
        FrameCase{"empty line", "\r\n", 512, LineStatus::Complete, 2},
        FrameCase{"empty buffer", "", 512, LineStatus::NeedMore, 0},
        FrameCase{"need more", "NOOP", 512, LineStatus::NeedMore, 0},
        FrameCase{"cr at end waits for lf", "NOOP\r", 512, LineStatus::NeedMore, 0},
        FrameCase{"bare lf", "NOOP\nQUIT\r\n", 512, LineStatus::BareLineEnding, 5},
        FrameCase{"bare lf alone", "\n", 512, LineStatus::BareLineEnding, 1},
        FrameCase{"bare cr then crlf", "NO\rOP\r\n", 512, LineStatus::BareLineEnding, 7},
        FrameCase{"bare cr then bare lf", "NO\rOP\nX", 512, LineStatus::BareLineEnding, 6},
        FrameCase{"cr cr lf", "NOOP\r\r\n", 512, LineStatus::BareLineEnding, 7},
        FrameCase{"bare cr without lf yet", "NO\rOP", 512, LineStatus::NeedMore, 0},
        FrameCase{"lf cr", "NOOP\n\r", 512, LineStatus::BareLineEnding, 5},
        FrameCase{"nul byte inside is just a byte", std::string("NO\0OP\r\n", 7), 512,
                  LineStatus::Complete, 7},
        FrameCase{"exactly at limit", s14 + "\r\n", 16, LineStatus::Complete, 16},
        FrameCase{"one over the limit with end", s15 + "\r\n", 16, LineStatus::TooLong, 17},
        FrameCase{"one over the limit, cr last", s15 + "\r", 16, LineStatus::TooLong, 16},
        FrameCase{"at limit without end, waiting", s14 + "\r", 16, LineStatus::NeedMore, 0},
        FrameCase{"too long, no end yet", s20, 16, LineStatus::TooLong, 20},
        FrameCase{"too long with end, rest kept", s20 + "\r\nNOOP\r\n", 16, LineStatus::TooLong,
                  22},
        FrameCase{"too long ending in bare lf", s20 + "\nNOOP\r\n", 16, LineStatus::TooLong, 21},
        FrameCase{"rfc limit 512", std::string(510, 'x') + "\r\n", 512, LineStatus::Complete, 512},
        FrameCase{"rfc limit 512 plus one", std::string(511, 'x') + "\r\n", 512,
                  LineStatus::TooLong, 513}),
    LabelName{});

// Pipelining: framing a buffer of several commands line by line finds every line.
TEST(FrameTest, PipelinedBufferSplitsIntoLines) {
  std::string_view buffer =
      "EHLO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";
  std::vector<std::string_view> lines;
  while (!buffer.empty()) {
    auto scan = find_command_line(buffer, 512);
    ASSERT_EQ(scan.status, LineStatus::Complete);
    lines.push_back(buffer.substr(0, scan.length - 2));
    buffer.remove_prefix(scan.length);
  }
  EXPECT_EQ(lines, (std::vector<std::string_view>{"EHLO a", "MAIL FROM:<a@b.example>",
                                                  "RCPT TO:<c@d.example>", "DATA"}));
}

// A line that arrives byte by byte is NeedMore until the LF, then Complete.
TEST(FrameTest, ByteByByteArrival) {
  const std::string line = "QUIT\r\n";
  for (std::size_t n = 0; n < line.size(); ++n) {
    EXPECT_EQ(find_command_line(line.substr(0, n), 512).status, LineStatus::NeedMore) << n;
  }
  EXPECT_EQ(find_command_line(line, 512).status, LineStatus::Complete);
}

struct VerbCase {
  std::string label;
  std::string line;
  Verb verb;
  std::string argument;
};

void PrintTo(const VerbCase& c, std::ostream* os) { *os << c.label; }

class VerbTest : public ::testing::TestWithParam<VerbCase> {};

TEST_P(VerbTest, Parses) {
  const auto& c = GetParam();
  const auto command = parse_command(c.line);
  EXPECT_EQ(command.verb, c.verb) << c.label;
  EXPECT_EQ(command.argument, c.argument) << c.label;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VerbTest,
    ::testing::Values(
        VerbCase{"ehlo", "EHLO client.example", Verb::Ehlo, "client.example"},
        VerbCase{"ehlo lower case, extra spaces", "ehlo   client.example  ", Verb::Ehlo,
                 "client.example"},
        VerbCase{"trailing tab trimmed", "EHLO client.example\t", Verb::Ehlo, "client.example"},
        VerbCase{"helo", "HELO client.example", Verb::Helo, "client.example"},
        VerbCase{"mail keeps FROM and params", "MAIL FROM:<a@b> SIZE=1", Verb::Mail,
                 "FROM:<a@b> SIZE=1"},
        VerbCase{"mail mixed case", "mAiL FROM:<a@b>", Verb::Mail, "FROM:<a@b>"},
        VerbCase{"rcpt", "rcpt TO:<u@example.test>", Verb::Rcpt, "TO:<u@example.test>"},
        VerbCase{"data", "DATA", Verb::Data, ""},
        VerbCase{"data trailing space", "DATA ", Verb::Data, ""},
        VerbCase{"data with junk argument", "DATA x", Verb::Data, "x"},
        VerbCase{"bdat", "BDAT 10 LAST", Verb::Bdat, "10 LAST"},
        VerbCase{"rset", "RSET", Verb::Rset, ""}, VerbCase{"noop", "noop", Verb::Noop, ""},
        VerbCase{"noop with argument", "NOOP hello", Verb::Noop, "hello"},
        VerbCase{"quit", "QUIT", Verb::Quit, ""},
        VerbCase{"vrfy", "VRFY postmaster", Verb::Vrfy, "postmaster"},
        VerbCase{"expn", "EXPN list", Verb::Expn, "list"}, VerbCase{"help", "HELP", Verb::Help, ""},
        VerbCase{"starttls mixed case", "StartTLS", Verb::StartTls, ""},
        VerbCase{"etrn", "ETRN example.test", Verb::Etrn, "example.test"},
        VerbCase{"etrn hash", "ETRN #example.test", Verb::Etrn, "#example.test"},
        VerbCase{"auth", "AUTH PLAIN AGFAAGI=", Verb::Auth, "PLAIN AGFAAGI="},
        VerbCase{"verb prefix is not the verb", "DATAX", Verb::Unknown, ""},
        VerbCase{"verb too short", "DAT", Verb::Unknown, ""},
        VerbCase{"leading space", " DATA", Verb::Unknown, ""},
        VerbCase{"tab separator is not a space", "EHLO\tclient", Verb::Unknown, ""},
        VerbCase{"empty line", "", Verb::Unknown, ""},
        VerbCase{"unknown verb has no argument", "X-NOTHING y", Verb::Unknown, ""},
        VerbCase{"non-ascii verb", "\xc3\x89HLO x", Verb::Unknown, ""},
        VerbCase{"nul inside verb", std::string("MA\0L x", 6), Verb::Unknown, ""}),
    LabelName{});

} // namespace
} // namespace backstop::smtp
