// ip_address_test: the hand-made dotted quad is exactly what inet_ntop writes.
#include "mail/ip_address.hpp"

#include <gtest/gtest.h>

namespace backstop::mail {
namespace {

TEST(AddressText, AgreesWithInetNtopForEveryOctetValue) {
  for (unsigned v = 0; v < 256; ++v) {
    const auto octet = static_cast<unsigned char>(v);
    const asio::ip::address_v4 address({octet, static_cast<unsigned char>(255 - v), 0, octet});
    EXPECT_EQ(address_text(asio::ip::address(address)), address.to_string());
  }
}

TEST(AddressText, Ipv6IsFormattedAsAsioDoes) {
  for (const char* text : {"::1", "2001:db8::25", "::ffff:192.0.2.1", "fe80::1"}) {
    const auto address = asio::ip::make_address(text);
    EXPECT_EQ(address_text(address), address.to_string());
  }
}

} // namespace
} // namespace backstop::mail
