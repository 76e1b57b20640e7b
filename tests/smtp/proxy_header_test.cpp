// proxy_header_test: the PROXY protocol header as HAProxy writes it (v1 text, v2 binary),
// the forms that name no client (LOCAL, UNKNOWN), and what is refused: a bad signature, a
// truncated header that can still grow, an oversized one, malformed fields.
#include "smtp/proxy_header.hpp"

#include <gtest/gtest.h>
#include <string>

namespace backstop::smtp {
namespace {

const std::string v2_sig("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: signature, version 2 and command, family/transport, length, payload.
std::string v2(std::uint8_t command, std::uint8_t family, const std::string& payload) {
  std::string h = v2_sig;
  h += static_cast<char>(0x20 | command);
  h += static_cast<char>(family);
  h += static_cast<char>(payload.size() >> 8);
  h += static_cast<char>(payload.size() & 0xff);
  return h + payload;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) {
    out += static_cast<char>(v);
  }
  return out;
}

// 192.0.2.7:40000 -> 198.51.100.1:25
const std::string v4_payload = bytes({192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0, 25});

TEST(ProxyHeader, V1Tcp4NamesTheClientAndStopsAtCrlf) {
  const std::string line = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n";
  const auto h = parse_proxy_header(line + "EHLO x\r\n");
  ASSERT_EQ(h.status, ProxyStatus::Complete) << h.error;
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.length, line.size());
  ASSERT_TRUE(h.has_client);
  EXPECT_EQ(h.source.address().to_string(), "192.0.2.7");
  EXPECT_EQ(h.source.port(), 40000);
  EXPECT_EQ(h.destination.address().to_string(), "198.51.100.1");
  EXPECT_EQ(h.destination.port(), 25);
}

TEST(ProxyHeader, V1Tcp6) {
  const auto h = parse_proxy_header("PROXY TCP6 2001:db8::7 2001:db8::1 1234 25\r\n");
  ASSERT_EQ(h.status, ProxyStatus::Complete) << h.error;
  ASSERT_TRUE(h.has_client);
  EXPECT_EQ(h.source.address().to_string(), "2001:db8::7");
  EXPECT_EQ(h.source.port(), 1234);
}

TEST(ProxyHeader, V1UnknownKeepsTheRealPeer) {
  for (const std::string line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:: ffff:: 1 2\r\n"}) {
    const auto h = parse_proxy_header(line);
    ASSERT_EQ(h.status, ProxyStatus::Complete) << line;
    EXPECT_FALSE(h.has_client);
    EXPECT_EQ(h.length, line.size());
  }
}

TEST(ProxyHeader, V1TruncatedNeedsMoreAtEveryCut) {
  const std::string line = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n";
  for (std::size_t n = 0; n < line.size(); ++n) {
    EXPECT_EQ(parse_proxy_header(line.substr(0, n)).status, ProxyStatus::NeedMore) << n;
  }
}

TEST(ProxyHeader, V1LongerThan107BytesIsRefused) {
  const std::string endless = "PROXY TCP6 " + std::string(200, 'a');
  EXPECT_EQ(parse_proxy_header(endless).status, ProxyStatus::Invalid);
  // 106 bytes and no CRLF yet may still end in one; 107 may not.
  const std::string almost = "PROXY UNKNOWN " + std::string(106 - 14, 'x');
  EXPECT_EQ(parse_proxy_header(almost).status, ProxyStatus::NeedMore);
  EXPECT_EQ(parse_proxy_header(almost + "\r").status, ProxyStatus::Invalid);
  EXPECT_EQ(parse_proxy_header(almost.substr(0, 105) + "\r\n").status, ProxyStatus::Complete);
}

TEST(ProxyHeader, V1MalformedFieldsAreRefused) {
  for (const std::string line :
       {"PROXY TCP4 192.0.2.7 198.51.100.1 40000\r\n",      // a field missing
        "PROXY TCP4  192.0.2.7 198.51.100.1 40000 25\r\n",  // two spaces
        "PROXY TCP4 2001:db8::7 198.51.100.1 40000 25\r\n", // v6 in TCP4
        "PROXY TCP6 192.0.2.7 2001:db8::1 40000 25\r\n",    // v4 in TCP6
        "PROXY TCP4 192.0.2.7 198.51.100.1 65536 25\r\n",   // port out of range
        "PROXY TCP4 192.0.2.7 198.51.100.1 040000 25\r\n",  // leading zero
        "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25 x\r\n", // a field too many
        "PROXY UDP4 192.0.2.7 198.51.100.1 40000 25\r\n",   // not TCP
        "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\n",     // bare LF
        "PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\rx",    // bare CR
        "PROXY \r\n", "proxy TCP4 192.0.2.7 198.51.100.1 40000 25\r\n", "EHLO client.example\r\n",
        "PROXYTCP4\r\n"}) {
    EXPECT_EQ(parse_proxy_header(line).status, ProxyStatus::Invalid) << line;
  }
}

TEST(ProxyHeader, V2Ipv4ProxyCommand) {
  const auto header = v2(1, 0x11, v4_payload);
  const auto h = parse_proxy_header(header + "EHLO");
  ASSERT_EQ(h.status, ProxyStatus::Complete) << h.error;
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.length, header.size());
  ASSERT_TRUE(h.has_client);
  EXPECT_EQ(h.source.address().to_string(), "192.0.2.7");
  EXPECT_EQ(h.source.port(), 40000);
  EXPECT_EQ(h.destination.address().to_string(), "198.51.100.1");
  EXPECT_EQ(h.destination.port(), 25);
}

TEST(ProxyHeader, V2Ipv6AndItsTlvsAreSkipped) {
  std::string payload = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7});
  payload += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  payload += bytes({0x04, 0xd2, 0, 25});
  payload += bytes({0x04, 0, 3, 'a', 'b', 'c'}); // a NOOP TLV
  const auto header = v2(1, 0x21, payload);
  const auto h = parse_proxy_header(header);
  ASSERT_EQ(h.status, ProxyStatus::Complete) << h.error;
  EXPECT_EQ(h.length, header.size());
  ASSERT_TRUE(h.has_client);
  EXPECT_EQ(h.source.address().to_string(), "2001:db8::7");
  EXPECT_EQ(h.source.port(), 1234);
  EXPECT_EQ(h.destination.address().to_string(), "2001:db8::1");
}

TEST(ProxyHeader, V2LocalKeepsTheRealPeerWhateverTheAddresses) {
  for (const auto& header : {v2(0, 0x00, ""), v2(0, 0x11, v4_payload)}) {
    const auto h = parse_proxy_header(header);
    ASSERT_EQ(h.status, ProxyStatus::Complete) << h.error;
    EXPECT_FALSE(h.has_client);
    EXPECT_EQ(h.length, header.size());
  }
  EXPECT_FALSE(parse_proxy_header(v2(1, 0x00, "")).has_client); // PROXY over UNSPEC
}

TEST(ProxyHeader, V2TruncatedNeedsMoreAtEveryCut) {
  const auto header = v2(1, 0x11, v4_payload);
  for (std::size_t n = 0; n < header.size(); ++n) {
    EXPECT_EQ(parse_proxy_header(header.substr(0, n)).status, ProxyStatus::NeedMore) << n;
  }
}

TEST(ProxyHeader, V2BadSignatureVersionOrCommandIsRefused) {
  auto bad_sig = v2(1, 0x11, v4_payload);
  bad_sig[7] = 'X';
  EXPECT_EQ(parse_proxy_header(bad_sig).status, ProxyStatus::Invalid);
  EXPECT_EQ(parse_proxy_header(bad_sig.substr(0, 8)).status, ProxyStatus::Invalid);
  auto version1 = v2(1, 0x11, v4_payload);
  version1[12] = 0x11;
  EXPECT_EQ(parse_proxy_header(version1).status, ProxyStatus::Invalid);
  EXPECT_EQ(parse_proxy_header(v2(2, 0x11, v4_payload)).status, ProxyStatus::Invalid);
}

TEST(ProxyHeader, V2WrongFamilyOrShortAddressesAreRefused) {
  EXPECT_EQ(parse_proxy_header(v2(1, 0x12, v4_payload)).status, ProxyStatus::Invalid); // UDP
  EXPECT_EQ(parse_proxy_header(v2(1, 0x31, std::string(216, 'a'))).status,
            ProxyStatus::Invalid); // AF_UNIX
  EXPECT_EQ(parse_proxy_header(v2(1, 0x11, v4_payload.substr(0, 11))).status, ProxyStatus::Invalid);
  EXPECT_EQ(parse_proxy_header(v2(1, 0x21, v4_payload)).status, ProxyStatus::Invalid);
}

TEST(ProxyHeader, V2OversizedIsRefusedFromTheFixedPart) {
  const auto header = v2(1, 0x11, v4_payload + std::string(proxy_v2_max_payload, 'x'));
  EXPECT_EQ(parse_proxy_header(header.substr(0, proxy_v2_fixed)).status, ProxyStatus::Invalid);
  const auto largest = v2(1, 0x11, v4_payload + std::string(proxy_v2_max_payload - 12, 'x'));
  EXPECT_EQ(parse_proxy_header(largest).status, ProxyStatus::Complete);
}

} // namespace
} // namespace backstop::smtp
