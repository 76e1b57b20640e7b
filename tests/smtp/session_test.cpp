// session_test: the session's state machine, table-driven, over a real loopback socket to a
// real Server with a real spool in a temporary directory: which command is allowed when,
// and what each answers.
#include "loopback_server.hpp"
#include "test_names.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::smtp {
namespace {

using testing::exchange;

struct Step {
  const char* send; // one command line, CRLF added
  int code;         // expected reply code
};

struct Script {
  const char* label;
  std::vector<Step> steps;
};

void PrintTo(const Script& s, std::ostream* os) { *os << s.label; }

class SessionTest : public ::testing::TestWithParam<Script> {
protected:
  void SetUp() override {
    loopback_.start("session_test", [](SessionOptions& options) {
      options.limits.max_recipients = 2;
      options.limits.max_errors = 5;
    });
  }

  testing::LoopbackServer loopback_{testing::relay_for_example_test()};
};

TEST_P(SessionTest, Script) {
  asio::io_context client;
  asio::ip::tcp::socket socket(client);
  socket.connect(loopback_.endpoint());
  asio::streambuf in;
  EXPECT_EQ(exchange(socket, in, ""), 220);
  for (const auto& step : GetParam().steps) {
    EXPECT_EQ(exchange(socket, in, step.send), step.code) << GetParam().label << ": " << step.send;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Scripts, SessionTest,
    ::testing::Values(
        Script{"happy path",
               {{"EHLO c.example", 250},
                {"MAIL FROM:<a@b.example>", 250},
                {"RCPT TO:<u@example.test>", 250},
                {"DATA", 354},
                {"Subject: x\r\n\r\nbody\r\n.", 250},
                {"QUIT", 221}}},
        Script{
            "mail before helo",
            {{"MAIL FROM:<a@b.example>", 503}, {"HELO c", 250}, {"MAIL FROM:<a@b.example>", 250}}},
        Script{"rcpt before mail", {{"EHLO c", 250}, {"RCPT TO:<u@example.test>", 503}}},
        Script{"data before rcpt",
               {{"EHLO c", 250}, {"MAIL FROM:<a@b.example>", 250}, {"DATA", 503}}},
        Script{
            "nested mail",
            {{"EHLO c", 250}, {"MAIL FROM:<a@b.example>", 250}, {"MAIL FROM:<a@b.example>", 503}}},
        Script{"rset clears the transaction",
               {{"EHLO c", 250},
                {"MAIL FROM:<a@b.example>", 250},
                {"RSET", 250},
                {"RCPT TO:<u@example.test>", 503}}},
        Script{"helo clears the transaction",
               {{"EHLO c", 250},
                {"MAIL FROM:<a@b.example>", 250},
                {"EHLO c", 250},
                {"RCPT TO:<u@example.test>", 503}}},
        Script{"relay denied",
               {{"EHLO c", 250},
                {"MAIL FROM:<a@b.example>", 250},
                {"RCPT TO:<u@other.example>", 550}}},
        Script{"too many recipients",
               {{"EHLO c", 250},
                {"MAIL FROM:<a@b.example>", 250},
                {"RCPT TO:<u1@example.test>", 250},
                {"RCPT TO:<u2@example.test>", 250},
                {"RCPT TO:<u3@example.test>", 452}}},
        Script{"duplicate recipient counted once",
               {{"EHLO c", 250},
                {"MAIL FROM:<a@b.example>", 250},
                {"RCPT TO:<u1@example.test>", 250},
                {"RCPT TO:<u1@example.test>", 250},
                {"RCPT TO:<u2@example.test>", 250}}},
        Script{"error limit",
               {{"X", 500}, {"X", 500}, {"X", 500}, {"X", 500}, {"X", 500}, {"", 421}}},
        Script{"starttls without certificate", {{"EHLO c", 250}, {"STARTTLS", 502}}},
        Script{"etrn without delivery", {{"EHLO c", 250}, {"ETRN example.test", 458}}},
        Script{"helo needs a name", {{"EHLO", 501}, {"HELO", 501}}}),
    backstop::testing::LabelName());

} // namespace
} // namespace backstop::smtp
