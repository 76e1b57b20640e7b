// cidr_test: network parsing and membership for IPv4 and IPv6, at the prefix edges, with
// IPv4-mapped IPv6 addresses, and for input that is not a network at all.
#include "mail/cidr.hpp"

#include <gtest/gtest.h>
#include <string>

namespace backstop::mail {
namespace {

Cidr net(const std::string& text) {
  auto c = Cidr::parse(text);
  EXPECT_TRUE(c.has_value()) << text;
  return c.value_or(Cidr{});
}

TEST(Cidr, Ipv4PrefixMatchesItsRangeOnly) {
  const auto c = net("192.0.2.0/24");
  EXPECT_TRUE(c.contains("192.0.2.0"));
  EXPECT_TRUE(c.contains("192.0.2.1"));
  EXPECT_TRUE(c.contains("192.0.2.255"));
  EXPECT_FALSE(c.contains("192.0.3.0"));
  EXPECT_FALSE(c.contains("192.0.1.255"));
  EXPECT_FALSE(c.contains("10.0.0.1"));
}

TEST(Cidr, PrefixNotOnAByteBoundary) {
  const auto c = net("198.51.100.64/27"); // .64 - .95
  EXPECT_FALSE(c.contains("198.51.100.63"));
  EXPECT_TRUE(c.contains("198.51.100.64"));
  EXPECT_TRUE(c.contains("198.51.100.95"));
  EXPECT_FALSE(c.contains("198.51.100.96"));
  const auto one = net("10.0.0.0/1"); // the lower half of IPv4
  EXPECT_TRUE(one.contains("127.255.255.255"));
  EXPECT_FALSE(one.contains("128.0.0.0"));
}

TEST(Cidr, HostBitsInTheNetworkAreIgnored) {
  const auto c = net("192.0.2.77/24");
  EXPECT_TRUE(c.contains("192.0.2.1"));
  EXPECT_FALSE(c.contains("192.0.3.77"));
}

TEST(Cidr, Ipv4Slash32AndBareAddressAreOneHost) {
  for (const auto* text : {"192.0.2.7/32", "192.0.2.7"}) {
    const auto c = net(text);
    EXPECT_TRUE(c.contains("192.0.2.7")) << text;
    EXPECT_FALSE(c.contains("192.0.2.6")) << text;
    EXPECT_FALSE(c.contains("192.0.2.8")) << text;
  }
}

TEST(Cidr, Ipv4SlashZeroIsEveryIpv4AddressButNoIpv6) {
  const auto c = net("0.0.0.0/0");
  EXPECT_TRUE(c.contains("0.0.0.0"));
  EXPECT_TRUE(c.contains("203.0.113.9"));
  EXPECT_TRUE(c.contains("255.255.255.255"));
  EXPECT_FALSE(c.contains("::1"));
  EXPECT_FALSE(c.contains("2001:db8::1"));
}

TEST(Cidr, Ipv6Prefixes) {
  const auto c = net("2001:db8::/32");
  EXPECT_TRUE(c.contains("2001:db8::1"));
  EXPECT_TRUE(c.contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(c.contains("2001:DB8:0:0:0:0:0:2")); // any spelling of the address
  EXPECT_FALSE(c.contains("2001:db9::1"));
  EXPECT_FALSE(c.contains("192.0.2.1"));
  const auto odd = net("2001:db8:abcd:12::/63"); // ...:12:: and ...:13::
  EXPECT_TRUE(odd.contains("2001:db8:abcd:13::1"));
  EXPECT_FALSE(odd.contains("2001:db8:abcd:14::1"));
  EXPECT_FALSE(odd.contains("2001:db8:abcd:11::1"));
}

TEST(Cidr, Ipv6Slash128AndBareAddressAreOneHost) {
  for (const auto* text : {"::1/128", "::1", "0:0:0:0:0:0:0:1"}) {
    const auto c = net(text);
    EXPECT_TRUE(c.contains("::1")) << text;
    EXPECT_FALSE(c.contains("::2")) << text;
    EXPECT_FALSE(c.contains("::")) << text;
    EXPECT_FALSE(c.contains("127.0.0.1")) << text;
  }
  const auto last = net("2001:db8::ff/128");
  EXPECT_TRUE(last.contains("2001:db8::ff"));
  EXPECT_FALSE(last.contains("2001:db8::fe")); // the last bit counts
}

TEST(Cidr, Ipv6SlashZeroIsEveryIpv6Address) {
  const auto c = net("::/0");
  EXPECT_TRUE(c.contains("::"));
  EXPECT_TRUE(c.contains("fe80::1"));
  EXPECT_TRUE(c.contains("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
}

// A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d; it is that IPv4 client.
TEST(Cidr, MappedAddressMatchesItsIpv4Network) {
  const auto c = net("192.0.2.0/24");
  EXPECT_TRUE(c.contains("::ffff:192.0.2.10"));
  EXPECT_TRUE(c.contains("::FFFF:c000:20a"));
  EXPECT_FALSE(c.contains("::ffff:192.0.3.10"));
  EXPECT_FALSE(net("::1").contains("::ffff:0.0.0.1"));
}

TEST(Cidr, MappedNetworkIsAnIpv4Network) {
  const auto host = net("::ffff:192.0.2.10");
  EXPECT_TRUE(host.contains("192.0.2.10"));
  EXPECT_TRUE(host.contains("::ffff:192.0.2.10"));
  EXPECT_FALSE(host.contains("192.0.2.11"));
  const auto range = net("::ffff:192.0.2.0/120"); // 96 + 24
  EXPECT_TRUE(range.contains("192.0.2.200"));
  EXPECT_FALSE(range.contains("192.0.3.1"));
  // Fewer than 96 bits reaches beyond the mapped range: an IPv6 network.
  const auto wide = net("::ffff:0:0/95");
  EXPECT_TRUE(wide.contains("::fffe:1:1"));
}

TEST(Cidr, MalformedNetworksAreRefused) {
  for (const auto* text : {"",
                           "/",
                           "/24",
                           "192.0.2.0/",
                           "192.0.2.0/33",
                           "192.0.2.0/-1",
                           "192.0.2.0/+8",
                           "192.0.2.0/ 8",
                           "192.0.2.0/8 ",
                           " 192.0.2.0",
                           "192.0.2.0/8/8",
                           "192.0.2.0/x",
                           "192.0.2",
                           "192.0.2.256",
                           "192.0.2.0.1",
                           "1.2.3.4a",
                           "2001:db8::/129",
                           "2001:db8:::1",
                           "2001:db8::g",
                           "fe80::1%eth0",
                           "example.test",
                           "192.0.2.0/99999999999999999999",
                           "::ffff:192.0.2.0/129"}) {
    EXPECT_FALSE(Cidr::parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(Cidr, MalformedAddressesAreNeverInside) {
  const auto all4 = net("0.0.0.0/0");
  const auto all6 = net("::/0");
  for (const auto* text : {"", "unknown", "192.0.2", "192.0.2.1/32", "[::1]", "::1%lo", " ::1"}) {
    EXPECT_FALSE(all4.contains(text)) << text;
    EXPECT_FALSE(all6.contains(text)) << text;
  }
}

TEST(Cidr, AnyContainsChecksEveryNetwork) {
  const std::vector<Cidr> networks{net("192.0.2.0/24"), net("2001:db8::/32")};
  EXPECT_TRUE(any_contains(networks, "192.0.2.5"));
  EXPECT_TRUE(any_contains(networks, "2001:db8::5"));
  EXPECT_FALSE(any_contains(networks, "198.51.100.5"));
  EXPECT_FALSE(any_contains({}, "192.0.2.5"));
}

} // namespace
} // namespace backstop::mail
