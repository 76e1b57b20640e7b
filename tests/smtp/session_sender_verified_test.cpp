// session_sender_verified_test: a message keeps, in its queued envelope, whether its sender
// was verified (facts::sender_verified) when it was accepted, so that bounce =
// "verified-sender" can decide long after the session is gone. A real Server over loopback
// with a real spool; a stand-in check vouches for senders whose local part is "real".
#include "policy/core_checks.hpp"
#include "policy/pipeline_slot.hpp"
#include "queue/spool.hpp"
#include "smtp/server.hpp"

#include <asio.hpp>
#include <filesystem>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

namespace backstop::smtp {
namespace {

class VouchForRealSenders final : public policy::Check {
public:
  std::string_view name() const override { return "vouch"; }
  bool runs_at(policy::Stage stage) const override { return stage == policy::Stage::Mail; }
  asio::awaitable<mail::Verdict> check(policy::Stage,
                                       const policy::SessionContext& context) const override {
    auto verdict = mail::Verdict::accept("vouch");
    if (context.sender.local == "real") {
      verdict.facts.push_back({std::string(policy::facts::sender_verified), "spf"});
    }
    co_return verdict;
  }
};

std::shared_ptr<const policy::Pipeline> vouching_pipeline() {
  auto parts = policy::relay_only({"example.test"});
  parts.checks.push_back({std::make_shared<const VouchForRealSenders>(), 10});
  return std::make_shared<const policy::Pipeline>(std::move(parts));
}

class SessionSenderVerifiedTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("session_sender_verified_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    queue::SpoolOptions spool_options;
    spool_options.dir = dir_;
    spool_ = std::move(queue::Spool::open(spool_options).value());
    options_.hostname = "mx2.example.test";
    options_.postmaster = {"postmaster", "example.test"};
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

  // The code of the last line of the reply to line (CRLF added; "" reads the greeting).
  static int exchange(asio::ip::tcp::socket& socket, asio::streambuf& in, const std::string& line) {
    if (!line.empty()) {
      asio::write(socket, asio::buffer(line + "\r\n"));
    }
    for (;;) {
      asio::read_until(socket, in, "\r\n");
      std::istream stream(&in);
      std::string reply;
      std::getline(stream, reply);
      if (reply.size() < 4 || reply[3] != '-') {
        return std::stoi(reply.substr(0, 3));
      }
    }
  }

  // Two messages in one session: the mark belongs to each transaction, not the session.
  void send_from(const std::vector<std::string>& senders) {
    asio::io_context client;
    asio::ip::tcp::socket socket(client);
    socket.connect(server_->bound().front());
    asio::streambuf in;
    ASSERT_EQ(exchange(socket, in, ""), 220);
    ASSERT_EQ(exchange(socket, in, "EHLO client.example"), 250);
    for (const auto& sender : senders) {
      ASSERT_EQ(exchange(socket, in, "MAIL FROM:<" + sender + ">"), 250);
      ASSERT_EQ(exchange(socket, in, "RCPT TO:<u@example.test>"), 250);
      ASSERT_EQ(exchange(socket, in, "DATA"), 354);
      ASSERT_EQ(exchange(socket, in, "Subject: x\r\n\r\nbody\r\n."), 250);
    }
    exchange(socket, in, "QUIT");
  }

  bool verified_mark_of(const std::string& sender_local) const {
    for (const auto& m : spool_->list()) {
      if (m.envelope.sender.local == sender_local) {
        return m.envelope.sender_verified;
      }
    }
    ADD_FAILURE() << "no queued message from " << sender_local;
    return false;
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<queue::Spool> spool_;
  policy::PipelineSlot slot_{vouching_pipeline()};
  mail::SystemClock clock_;
  ConnectionLimiter limiter_{100, 100};
  SessionOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_F(SessionSenderVerifiedTest, QueuedEnvelopeCarriesWhetherTheSenderWasVerified) {
  send_from({"real@sender.test", "forged@sender.test", "real@sender.test"});
  const auto queued = spool_->list();
  ASSERT_EQ(queued.size(), 3u);
  std::size_t verified = 0;
  for (const auto& m : queued) {
    EXPECT_EQ(m.envelope.sender_verified, m.envelope.sender.local == "real")
        << m.envelope.sender.to_string();
    verified += m.envelope.sender_verified ? 1 : 0;
  }
  EXPECT_EQ(verified, 2u);
  EXPECT_FALSE(verified_mark_of("forged"));
}

} // namespace
} // namespace backstop::smtp
