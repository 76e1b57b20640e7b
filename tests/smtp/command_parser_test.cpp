// command_parser_test: CRLF framing (bare CR/LF, limits) and verb recognition.
#include "smtp/command_parser.hpp"

#include <gtest/gtest.h>

namespace backstop::smtp {
namespace {

struct FrameCase {
  const char* label;
  std::string input;
  LineStatus status;
  std::size_t length;
};

void PrintTo(const FrameCase& c, std::ostream* os) { *os << c.label; }

class FrameTest : public ::testing::TestWithParam<FrameCase> {};

TEST_P(FrameTest, Frames) {
  const auto& c = GetParam();
  const auto scan = find_command_line(c.input, 16);
  EXPECT_EQ(scan.status, c.status) << c.label;
  EXPECT_EQ(scan.length, c.length) << c.label;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FrameTest,
    ::testing::Values(FrameCase{"complete", "NOOP\r\nQUIT\r\n", LineStatus::Complete, 6},
                      FrameCase{"need more", "NOOP", LineStatus::NeedMore, 0},
                      FrameCase{"cr at end waits", "NOOP\r", LineStatus::NeedMore, 0},
                      FrameCase{"bare lf", "NOOP\nQUIT\r\n", LineStatus::BareLineEnding, 5},
                      FrameCase{"bare cr", "NO\rOP\r\n", LineStatus::BareLineEnding, 7},
                      FrameCase{"exactly at limit", "0123456789abcd\r\n", LineStatus::Complete, 16},
                      FrameCase{"too long, no end yet", "0123456789abcdefghij", LineStatus::TooLong,
                                20},
                      FrameCase{"too long with end", "0123456789abcdefghij\r\nNOOP\r\n",
                                LineStatus::TooLong, 22}));

struct VerbCase {
  const char* line;
  Verb verb;
  const char* argument;
};

void PrintTo(const VerbCase& c, std::ostream* os) { *os << c.line; }

class VerbTest : public ::testing::TestWithParam<VerbCase> {};

TEST_P(VerbTest, Parses) {
  const auto command = parse_command(GetParam().line);
  EXPECT_EQ(command.verb, GetParam().verb) << GetParam().line;
  EXPECT_EQ(command.argument, GetParam().argument) << GetParam().line;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VerbTest,
    ::testing::Values(VerbCase{"EHLO client.example", Verb::Ehlo, "client.example"},
                      VerbCase{"ehlo   client.example  ", Verb::Ehlo, "client.example"},
                      VerbCase{"MAIL FROM:<a@b> SIZE=1", Verb::Mail, "FROM:<a@b> SIZE=1"},
                      VerbCase{"rcpt TO:<u@example.test>", Verb::Rcpt, "TO:<u@example.test>"},
                      VerbCase{"DATA", Verb::Data, ""}, VerbCase{"DATAX", Verb::Unknown, ""},
                      VerbCase{"StartTLS", Verb::StartTls, ""},
                      VerbCase{"BDAT 10 LAST", Verb::Bdat, "10 LAST"},
                      VerbCase{"ETRN example.test", Verb::Etrn, "example.test"},
                      VerbCase{"", Verb::Unknown, ""}, VerbCase{"X-NOTHING y", Verb::Unknown, ""}));

} // namespace
} // namespace backstop::smtp
