// sender_routing_test: which local parts carry routing, and the refusal's reply and reason.
#include "policy/core_checks.hpp"
#include "policy/pipeline.hpp"
#include "policy/sender_routing.hpp"

#include <gtest/gtest.h>

namespace backstop::policy {
namespace {

TEST(SenderRouting, PercentBangAndAtAreRouting) {
  EXPECT_EQ(routing_operator("user%other.example"), '%');
  EXPECT_EQ(routing_operator("other.example!user"), '!');
  EXPECT_EQ(routing_operator("user@other.example"), '@'); // from a quoted local part
  EXPECT_EQ(routing_operator("a!b%c"), '!') << "the first operator is named";
}

TEST(SenderRouting, OtherSpecialsAreNot) {
  for (const char* local :
       {"user", "user+tag", "first.last", "quoted local", "a:b", "o'brien", "x=y", "#hash", ""}) {
    EXPECT_EQ(routing_operator(local), std::nullopt) << local;
  }
}

TEST(SenderRouting, RefusalIs550_5_7_1AndNamesTheRouting) {
  const auto v = check_sender_routing({"user%other.example", "example.test"});
  EXPECT_EQ(v.decision, mail::Decision::Reject);
  EXPECT_EQ(v.reply.code, 550);
  EXPECT_EQ(v.reply.enhanced, "5.7.1");
  EXPECT_EQ(v.check, "sender_routing");
  EXPECT_NE(v.reply.text.find("<user%other.example@example.test>"), std::string::npos)
      << v.reply.text;
  EXPECT_NE(v.reply.text.find("percent hack"), std::string::npos) << v.reply.text;
  EXPECT_NE(v.reason.find("'%'"), std::string::npos) << v.reason;
}

TEST(SenderRouting, QuotedLocalPartIsWrittenBackQuoted) {
  const auto v = check_sender_routing({"user@other.example", "example.test"});
  EXPECT_NE(v.reply.text.find("<\"user@other.example\"@example.test>"), std::string::npos)
      << v.reply.text;
}

TEST(SenderRouting, PlainRecipientPasses) {
  EXPECT_TRUE(check_sender_routing({"user", "example.test"}).accepted());
}

// Run synchronously: the RCPT checks that need no network finish without suspending.
mail::Verdict rcpt(const Pipeline& pipeline, const mail::Address& recipient) {
  asio::io_context io;
  SessionContext context;
  context.sender = {"a", "b.example"};
  context.recipient = recipient;
  mail::Verdict out;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await pipeline.decide(Stage::Rcpt, context); },
      asio::detached);
  io.run();
  return out;
}

TEST(SenderRouting, PipelineRefusesRoutingOnlyForBackedUpDomainsAndOnlyWhenOn) {
  const Pipeline on(relay_only({"example.test"}, true));
  EXPECT_EQ(rcpt(on, {"u%x.example", "example.test"}).check, "sender_routing");
  EXPECT_EQ(rcpt(on, {"u%example.test", "other.example"}).check, "relay_domains");
  const Pipeline off(relay_only({"example.test"}, false));
  EXPECT_TRUE(rcpt(off, {"u%x.example", "example.test"}).accepted());
}

} // namespace
} // namespace backstop::policy
