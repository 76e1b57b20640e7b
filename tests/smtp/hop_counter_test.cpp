// hop_counter_test: Received fields counted in the header section only, across chunk
// boundaries, folded lines and the obsolete "Name :" syntax.
#include "smtp/hop_counter.hpp"

#include <gtest/gtest.h>
#include <string>

namespace backstop::smtp {
namespace {

std::size_t count(const std::string& message, std::size_t chunk = 0) {
  HopCounter counter;
  if (chunk == 0) {
    counter.feed(message);
  } else {
    for (std::size_t at = 0; at < message.size(); at += chunk) {
      counter.feed(std::string_view(message).substr(at, chunk));
    }
  }
  return counter.received_headers();
}

const std::string headers = "Received: from a by b\r\n"
                            "\tid 1; Tue, 1 Dec 2026 00:00:00 +0000\r\n"
                            "X-Received: not a hop\r\n"
                            "RECEIVED : from c\r\n"
                            "received:from d\r\n"
                            "Receivedx: not a hop\r\n"
                            "Subject: Received: in a value\r\n"
                            "\r\n"
                            "Received: in the body\r\n";

TEST(HopCounter, CountsReceivedFieldsOfTheHeaderSectionOnly) { EXPECT_EQ(count(headers), 3u); }

TEST(HopCounter, SameCountWhateverTheChunking) {
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 10u}) {
    EXPECT_EQ(count(headers, chunk), 3u) << "chunk " << chunk;
  }
}

TEST(HopCounter, FoldedContinuationIsNotAField) {
  EXPECT_EQ(count("Subject: x\r\n Received: folded\r\n\r\n"), 0u);
}

TEST(HopCounter, MessageWithoutBody) { EXPECT_EQ(count("Received: a\r\nReceived: b\r\n"), 2u); }

} // namespace
} // namespace backstop::smtp
