// session_sender_verified_test: a message keeps, in its queued envelope, whether its sender
// was verified (facts::sender_verified) when it was accepted, so that bounce =
// "verified-sender" can decide long after the session is gone. A real Server over loopback
// with a real spool; a stand-in check vouches for senders whose local part is "real".
#include "loopback_server.hpp"
#include "policy/core_checks.hpp"

#include <asio.hpp>
#include <gtest/gtest.h>

namespace backstop::smtp {
namespace {

using testing::exchange;

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
  void SetUp() override { loopback_.start("session_sender_verified_test"); }

  // Two messages in one session: the mark belongs to each transaction, not the session.
  void send_from(const std::vector<std::string>& senders) {
    asio::io_context client;
    asio::ip::tcp::socket socket(client);
    socket.connect(loopback_.endpoint());
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

  bool verified_mark_of(const std::string& sender_local) {
    for (const auto& m : loopback_.spool().list()) {
      if (m.envelope.sender.local == sender_local) {
        return m.envelope.sender_verified;
      }
    }
    ADD_FAILURE() << "no queued message from " << sender_local;
    return false;
  }

  testing::LoopbackServer loopback_{vouching_pipeline()};
};

TEST_F(SessionSenderVerifiedTest, QueuedEnvelopeCarriesWhetherTheSenderWasVerified) {
  send_from({"real@sender.test", "forged@sender.test", "real@sender.test"});
  const auto queued = loopback_.spool().list();
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
