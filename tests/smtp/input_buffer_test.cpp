// input_buffer_test: reads land after what is pending, consumed bytes go, and a large buffer
// left empty shrinks back for an idle session.
#include "smtp/input_buffer.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <string>

namespace backstop::smtp {
namespace {

void put(InputBuffer& buffer, const std::string& text, std::size_t room) {
  char* at = buffer.prepare(room);
  std::memcpy(at, text.data(), text.size());
  buffer.commit(text.size());
}

TEST(InputBuffer, KeepsWhatIsNotConsumedInOrder) {
  InputBuffer buffer;
  put(buffer, "MAIL FROM:<a@b>\r\nRC", 2048);
  EXPECT_EQ(buffer.pending(), "MAIL FROM:<a@b>\r\nRC");
  buffer.consume(17);
  EXPECT_EQ(buffer.pending(), "RC");
  put(buffer, "PT TO:<c@d>\r\n", 2048);
  EXPECT_EQ(buffer.pending(), "RCPT TO:<c@d>\r\n");
}

TEST(InputBuffer, GrowsForAReadLargerThanItsRoom) {
  InputBuffer buffer;
  put(buffer, "abc", 16);
  const std::string big(70000, 'x');
  put(buffer, big, big.size());
  EXPECT_EQ(buffer.pending().size(), 3 + big.size());
  EXPECT_EQ(buffer.pending().substr(0, 4), "abcx");
}

TEST(InputBuffer, ClearDropsEverything) {
  InputBuffer buffer;
  put(buffer, "STARTTLS\r\nEHLO sneaky\r\n", 2048);
  buffer.clear();
  EXPECT_TRUE(buffer.pending().empty());
}

TEST(InputBuffer, EmptyLargeBufferShrinksForASmallRead) {
  InputBuffer buffer;
  put(buffer, std::string(65536, 'y'), 65536);
  buffer.consume(65536);
  const char* big = buffer.prepare(65536);
  EXPECT_EQ(buffer.prepare(65536), big) << "the same size again reuses the buffer";
  const char* small = buffer.prepare(2048);
  put(buffer, "QUIT\r\n", 2048);
  EXPECT_EQ(buffer.pending(), "QUIT\r\n");
  EXPECT_NE(small, nullptr);
}

} // namespace
} // namespace backstop::smtp
