// reverse_name_test: reversed octets and nibbles, the PTR suffixes, mapped IPv4.
#include "dns/reverse_name.hpp"

#include <gtest/gtest.h>

namespace backstop::dns {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

TEST(ReverseName, Ipv4OctetsReversed) {
  EXPECT_EQ(reversed_labels(ip("192.0.2.99")), "99.2.0.192");
  EXPECT_EQ(ptr_name(ip("127.0.0.2")), "2.0.0.127.in-addr.arpa");
}

TEST(ReverseName, Ipv6NibblesLowestFirst) {
  // RFC 5782 2.4's example.
  EXPECT_EQ(reversed_labels(ip("2001:db8:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2");
  EXPECT_EQ(ptr_name(ip("::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
}

TEST(ReverseName, MappedIpv4IsItsIpv4Address) {
  EXPECT_EQ(reversed_labels(ip("::ffff:192.0.2.99")), "99.2.0.192");
  EXPECT_EQ(ptr_name(ip("::ffff:192.0.2.99")), "99.2.0.192.in-addr.arpa");
}

} // namespace
} // namespace backstop::dns
