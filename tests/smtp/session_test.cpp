// session_test: the session's state machine, table-driven, over a real loopback socket to a
// real Server with a real spool in a temporary directory: which command is allowed when,
// and what each answers.
#include "policy/core_checks.hpp"
#include "policy/pipeline_slot.hpp"
#include "queue/spool.hpp"
#include "smtp/server.hpp"
#include "test_names.hpp"

#include <asio.hpp>
#include <filesystem>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

namespace backstop::smtp {
namespace {

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
    dir_ = std::filesystem::temp_directory_path() /
           ("session_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    queue::SpoolOptions spool_options;
    spool_options.dir = dir_;
    spool_ = std::move(queue::Spool::open(spool_options).value());
    options_.hostname = "mx2.example.test";
    options_.postmaster = {"postmaster", "example.test"};
    options_.limits.max_recipients = 2;
    options_.limits.max_errors = 5;
    options_.pipeline = &slot_;
    options_.spool = spool_.get();
    options_.clock = &clock_;
    server_ = std::make_unique<Server>(options_, limiter_, std::vector<asio::io_context*>{&io_});
    ASSERT_TRUE(server_->listen({{asio::ip::make_address("127.0.0.1"), 0}}).ok());
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  void TearDown() override {
    io_.stop();
    thread_.join();
    server_.reset();
    spool_->close();
    std::filesystem::remove_all(dir_);
  }

  // Sends line (CRLF added) and returns the code of the (last line of the) reply.
  int exchange(asio::ip::tcp::socket& socket, asio::streambuf& in, const std::string& line) {
    if (!line.empty()) {
      asio::write(socket, asio::buffer(line + "\r\n"));
    }
    for (;;) {
      asio::read_until(socket, in, "\r\n");
      std::istream stream(&in);
      std::string reply;
      std::getline(stream, reply);
      if (reply.size() >= 4 && reply[3] == '-') {
        continue;
      }
      return std::stoi(reply.substr(0, 3));
    }
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<queue::Spool> spool_;
  policy::PipelineSlot slot_{
      std::make_shared<const policy::Pipeline>(policy::relay_only({"example.test"}))};
  mail::SystemClock clock_;
  ConnectionLimiter limiter_{100, 100};
  SessionOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_P(SessionTest, Script) {
  asio::io_context client;
  asio::ip::tcp::socket socket(client);
  socket.connect(server_->bound().front());
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
