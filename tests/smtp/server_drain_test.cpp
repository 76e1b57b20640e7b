// server_drain_test: Server::drain() over a real loopback socket: the listener closes, an
// idle session gets 421 at once, a message being received is finished (250) before its 421.
#include "loopback_server.hpp"

#include <gtest/gtest.h>
#include <thread>

namespace backstop::smtp {
namespace {

using testing::read_reply;
using testing::say;

class ServerDrainTest : public ::testing::Test {
protected:
  void SetUp() override { loopback_.start("server_drain_test"); }

  bool sessions_end_within(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (loopback_.server().open_sessions() != 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  testing::LoopbackServer loopback_{testing::relay_for_example_test()};
};

const char* const shutting_down = "421 4.3.2 mx2.example.test shutting down";

TEST_F(ServerDrainTest, AnIdleSessionGets421AtOnceAndNewConnectionsAreRefused) {
  asio::io_context client;
  asio::ip::tcp::socket socket(client);
  socket.connect(loopback_.endpoint());
  asio::streambuf in;
  EXPECT_EQ(read_reply(socket, in).substr(0, 3), "220");
  EXPECT_EQ(say(socket, in, "EHLO c.example").substr(0, 3), "250");
  EXPECT_EQ(loopback_.server().open_sessions(), 1u);
  loopback_.server().drain();
  EXPECT_EQ(read_reply(socket, in), shutting_down);
  EXPECT_TRUE(sessions_end_within(std::chrono::seconds(5)));
  asio::ip::tcp::socket late(client);
  std::error_code ec;
  late.connect(loopback_.endpoint(), ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
}

TEST_F(ServerDrainTest, AMessageBeingReceivedIsAcknowledgedBeforeThe421) {
  asio::io_context client;
  asio::ip::tcp::socket socket(client);
  socket.connect(loopback_.endpoint());
  asio::streambuf in;
  EXPECT_EQ(read_reply(socket, in).substr(0, 3), "220");
  EXPECT_EQ(say(socket, in, "EHLO c.example").substr(0, 3), "250");
  EXPECT_EQ(say(socket, in, "MAIL FROM:<a@b.example>").substr(0, 3), "250");
  EXPECT_EQ(say(socket, in, "RCPT TO:<u@example.test>").substr(0, 3), "250");
  EXPECT_EQ(say(socket, in, "DATA").substr(0, 3), "354");
  asio::write(socket, asio::buffer(std::string("Subject: x\r\n\r\nhalf")));
  loopback_.server().drain();
  std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the drain reaches the loop
  EXPECT_EQ(loopback_.server().open_sessions(), 1u);           // still receiving
  EXPECT_EQ(say(socket, in, " and the rest\r\n.").substr(0, 24), "250 2.0.0 Ok: queued as ");
  EXPECT_EQ(read_reply(socket, in), shutting_down);
  EXPECT_TRUE(sessions_end_within(std::chrono::seconds(5)));
  EXPECT_EQ(loopback_.spool().stats().messages, 1u);
}

} // namespace
} // namespace backstop::smtp
