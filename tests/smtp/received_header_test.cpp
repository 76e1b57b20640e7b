// received_header_test: trace header shape and sanitising of client-supplied text.
#include "smtp/received_header.hpp"

#include <gtest/gtest.h>

namespace backstop::smtp {
namespace {

ReceivedFacts facts() {
  ReceivedFacts f;
  f.helo = "client.example";
  f.client_ip = "192.0.2.1";
  f.by_host = "mx2.example.test";
  f.id = mail::QueueId{0xABC};
  f.unix_time = 0;
  return f;
}

TEST(ReceivedHeader, PlainEsmtp) {
  EXPECT_EQ(received_header(facts()),
            "Received: from client.example ([192.0.2.1])\r\n"
            "\tby mx2.example.test (backstop) with ESMTP id 0000000000000ABC; "
            "Thu, 01 Jan 1970 00:00:00 +0000\r\n");
}

TEST(ReceivedHeader, TlsUtf8AndSingleRecipient) {
  auto f = facts();
  f.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
  f.smtputf8 = true;
  f.single_recipient = "user@example.test";
  const auto h = received_header(f);
  EXPECT_NE(h.find("(using TLSv1.3 TLS_AES_256_GCM_SHA384)"), std::string::npos);
  EXPECT_NE(h.find("with UTF8SMTPS id"), std::string::npos);
  EXPECT_NE(h.find("for <user@example.test>;"), std::string::npos);
}

TEST(ReceivedHeader, HostileHeloCannotBreakHeader) {
  auto f = facts();
  f.helo = "evil)\r\nBcc: x (y";
  const auto h = received_header(f);
  EXPECT_EQ(h.find("\r\nBcc"), std::string::npos); // no header injected
  EXPECT_NE(h.find("from evil___Bcc:_x__y ("), std::string::npos);
}

TEST(Rfc5322Date, FormatsUtc) {
  EXPECT_EQ(rfc5322_date(1795392000), "Mon, 23 Nov 2026 00:00:00 +0000");
}

} // namespace
} // namespace backstop::smtp
