// The defer and tarpit traps' conversation: plausible until RCPT, then 4xx; what it learns.
#include "trap/command.hpp"
#include "trap/conversation.hpp"
#include "trap/line_assembler.hpp"

#include <gtest/gtest.h>

namespace backstop::trap {
namespace {

const Domains ours{"example.test"};

TEST(TrapConversation, PlausibleUntilRcptThenDefersEverything) {
  Conversation c;
  EXPECT_EQ(c.on_line("EHLO bot.example", ours), Answer::Hello);
  EXPECT_EQ(c.on_line("MAIL FROM:<spam@Sender.Example>", ours), Answer::Ok);
  EXPECT_EQ(c.on_line("RCPT TO:<user@example.test>", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("RCPT TO:<other@example.test>", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("DATA", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("RSET", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("MAIL FROM:<x@y.example>", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("QUIT", ours), Answer::Bye);
  EXPECT_EQ(c.helo(), "bot.example");
  EXPECT_EQ(c.sender_domain(), "sender.example");
  EXPECT_EQ(c.recipient_domain(), "example.test");
  EXPECT_TRUE(c.named_ours());
}

// Anti-poisoning: someone's own domain pointed at our trap is not ours.
TEST(TrapConversation, AForeignRecipientDomainIsNotOurs) {
  Conversation c;
  c.on_line("HELO big.sender.example", ours);
  c.on_line("MAIL FROM:<>", ours);
  EXPECT_EQ(c.on_line("RCPT TO:<victim@poisoner.example>", ours), Answer::Defer);
  EXPECT_FALSE(c.named_ours());
  EXPECT_EQ(c.recipient_domain(), "poisoner.example");
  EXPECT_EQ(c.sender_domain(), "");
}

TEST(TrapConversation, OurDomainNamedLaterWins) {
  Conversation c;
  c.on_line("RCPT TO:<a@foreign.example>", ours);
  c.on_line("RCPT TO:<b@EXAMPLE.TEST.>", ours);
  EXPECT_TRUE(c.named_ours());
  EXPECT_EQ(c.recipient_domain(), "example.test");
}

TEST(TrapConversation, CommandLimitCloses) {
  Conversation c(3);
  EXPECT_EQ(c.on_line("NOOP", ours), Answer::Ok);
  EXPECT_EQ(c.on_line("NOOP", ours), Answer::Ok);
  EXPECT_EQ(c.on_line("NOOP", ours), Answer::Ok);
  EXPECT_EQ(c.on_line("NOOP", ours), Answer::TooMany);
  EXPECT_TRUE(closes(Answer::TooMany));
}

TEST(TrapConversation, JunkBeforeRcptIsDeferredNeverRefused) {
  Conversation c;
  EXPECT_EQ(c.on_line("DATA", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("\x01\x02 garbage", ours), Answer::Defer);
  EXPECT_EQ(c.on_line("", ours), Answer::Defer);
}

TEST(TrapConversation, LongHeloIsCutNotGrown) {
  Conversation c;
  c.on_line("EHLO " + std::string(300, 'a'), ours);
  EXPECT_EQ(c.helo().size(), 64u);
}

TEST(TrapCommand, DomainsOfPaths) {
  EXPECT_EQ(domain_of_path("FROM:<a@B.Example>"), "b.example");
  EXPECT_EQ(domain_of_path("from: <a@b.example> SIZE=10"), "b.example");
  EXPECT_EQ(domain_of_path("TO:<@relay.example:u@example.test>"), "example.test");
  EXPECT_EQ(domain_of_path("TO:u@example.test"), "example.test");
  EXPECT_EQ(domain_of_path("TO:<postmaster>"), "");
  EXPECT_EQ(domain_of_path("FROM:<>"), "");
  EXPECT_EQ(domain_of_path("TO:<u@exa mple>"), "");
  EXPECT_EQ(domain_of_path("no colon"), "");
  EXPECT_EQ(verb_of("rcpt TO:<a@b>"), Verb::Rcpt);
  EXPECT_EQ(verb_of("QUIT"), Verb::Quit);
  EXPECT_EQ(verb_of("QUITE"), Verb::Other);
}

TEST(TrapLineAssembler, LinesAcrossChunksAndPipelinedRest) {
  LineAssembler<16> line;
  std::string_view input = "EHLO a";
  EXPECT_EQ(line.feed(input), input.size());
  EXPECT_FALSE(line.complete());
  std::string_view more = "b\r\nQUIT\r\n";
  const auto taken = line.feed(more);
  EXPECT_EQ(taken, 3u); // up to the LF: the pipelined QUIT stays for the next line
  ASSERT_TRUE(line.complete());
  EXPECT_EQ(line.line(), "EHLO ab");
  more.remove_prefix(taken);
  line.feed(more);
  ASSERT_TRUE(line.complete());
  EXPECT_EQ(line.line(), "QUIT");
}

TEST(TrapLineAssembler, AnOverlongLineKeepsItsStart) {
  LineAssembler<8> line;
  line.feed(std::string(100, 'x') + "\r\n");
  ASSERT_TRUE(line.complete());
  EXPECT_TRUE(line.truncated());
  EXPECT_EQ(line.line(), "xxxxxxxx");
}

} // namespace
} // namespace backstop::trap
