// server_drain_test: Server::drain() over a real loopback socket: the listener closes, an
// idle session gets 421 at once, a message being received is finished (250) before its 421.
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

class ServerDrainTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("server_drain_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    queue::SpoolOptions spool_options;
    spool_options.dir = dir_;
    spool_ = std::move(queue::Spool::open(spool_options).value());
    options_.hostname = "mx2.example.test";
    options_.pipeline = &slot_;
    options_.spool = spool_.get();
    options_.clock = &clock_;
    server_ = std::make_unique<Server>(options_, limiter_, std::vector<asio::io_context*>{&io_});
    ASSERT_TRUE(server_->listen({{asio::ip::make_address("127.0.0.1"), 0}}).ok());
    endpoint_ = server_->bound().front();
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

  // The next complete reply's last line.
  static std::string reply(asio::ip::tcp::socket& socket, asio::streambuf& in) {
    for (;;) {
      asio::read_until(socket, in, "\r\n");
      std::istream stream(&in);
      std::string line;
      std::getline(stream, line);
      if (line.size() >= 4 && line[3] == '-') {
        continue;
      }
      line.pop_back(); // the CR
      return line;
    }
  }

  static std::string say(asio::ip::tcp::socket& socket, asio::streambuf& in,
                         const std::string& text) {
    asio::write(socket, asio::buffer(text));
    return reply(socket, in);
  }

  bool sessions_end_within(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (server_->open_sessions() != 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
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
  asio::ip::tcp::endpoint endpoint_;
};

const char* const shutting_down = "421 4.3.2 mx2.example.test shutting down";

TEST_F(ServerDrainTest, AnIdleSessionGets421AtOnceAndNewConnectionsAreRefused) {
  asio::io_context client;
  asio::ip::tcp::socket socket(client);
  socket.connect(endpoint_);
  asio::streambuf in;
  EXPECT_EQ(reply(socket, in).substr(0, 3), "220");
  EXPECT_EQ(say(socket, in, "EHLO c.example\r\n").substr(0, 3), "250");
  EXPECT_EQ(server_->open_sessions(), 1u);
  server_->drain();
  EXPECT_EQ(reply(socket, in), shutting_down);
  EXPECT_TRUE(sessions_end_within(std::chrono::seconds(5)));
  asio::ip::tcp::socket late(client);
  std::error_code ec;
  late.connect(endpoint_, ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
}

TEST_F(ServerDrainTest, AMessageBeingReceivedIsAcknowledgedBeforeThe421) {
  asio::io_context client;
  asio::ip::tcp::socket socket(client);
  socket.connect(endpoint_);
  asio::streambuf in;
  EXPECT_EQ(reply(socket, in).substr(0, 3), "220");
  EXPECT_EQ(say(socket, in, "EHLO c.example\r\n").substr(0, 3), "250");
  EXPECT_EQ(say(socket, in, "MAIL FROM:<a@b.example>\r\n").substr(0, 3), "250");
  EXPECT_EQ(say(socket, in, "RCPT TO:<u@example.test>\r\n").substr(0, 3), "250");
  EXPECT_EQ(say(socket, in, "DATA\r\n").substr(0, 3), "354");
  asio::write(socket, asio::buffer(std::string("Subject: x\r\n\r\nhalf")));
  server_->drain();
  std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the drain reaches the loop
  EXPECT_EQ(server_->open_sessions(), 1u);                     // still receiving
  EXPECT_EQ(say(socket, in, " and the rest\r\n.\r\n").substr(0, 24), "250 2.0.0 Ok: queued as ");
  EXPECT_EQ(reply(socket, in), shutting_down);
  EXPECT_TRUE(sessions_end_within(std::chrono::seconds(5)));
  EXPECT_EQ(spool_->stats().messages, 1u);
}

} // namespace
} // namespace backstop::smtp
