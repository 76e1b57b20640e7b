// reply_test: wire form of single- and multi-line replies, with and without enhanced codes.
#include "mail/address.hpp"
#include "mail/queue_id.hpp"
#include "mail/reply.hpp"

#include <gtest/gtest.h>

namespace backstop::mail {
namespace {

TEST(Reply, SingleLine) {
  EXPECT_EQ((Reply{250, "2.1.0", "Ok"}).wire(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ((Reply{250, "2.1.0", "Ok"}).wire(false), "250 Ok\r\n");
}

TEST(Reply, MultiLineRepeatsCodes) {
  EXPECT_EQ((Reply{250, "", "a\nb\nc"}).wire(), "250-a\r\n250-b\r\n250 c\r\n");
  EXPECT_EQ((Reply{550, "5.7.1", "x\ny"}).wire(), "550-5.7.1 x\r\n550 5.7.1 y\r\n");
}

TEST(Address, NormalizeDomain) {
  EXPECT_EQ(normalize_domain("Example.TEST."), "example.test");
  EXPECT_EQ(normalize_domain("ÉXAMPLE.test"), "Éxample.test"); // only ASCII folded
}

TEST(Address, QuotesWhenNeeded) {
  EXPECT_EQ((Address{"user", "example.test"}).to_string(), "user@example.test");
  EXPECT_EQ((Address{"user@other", "example.test"}).to_string(), "\"user@other\"@example.test");
  EXPECT_EQ((Address{"a b\"c", "example.test"}).to_string(), "\"a b\\\"c\"@example.test");
  EXPECT_EQ((Address{"a..b", "example.test"}).to_string(), "\"a..b\"@example.test");
  EXPECT_EQ((Address{}).to_string(), "");
}

TEST(QueueId, RoundTrip) {
  QueueId id{0x0123456789ABCDEFull};
  EXPECT_EQ(id.to_string(), "0123456789ABCDEF");
  EXPECT_EQ(QueueId::parse("0123456789abcdef")->value, id.value);
  EXPECT_FALSE(QueueId::parse("xyz"));
  EXPECT_FALSE(QueueId::parse(""));
  EXPECT_FALSE(QueueId::parse("01234567890123456"));
}

} // namespace
} // namespace backstop::mail
