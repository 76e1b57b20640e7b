// proxy_header: the PROXY protocol header a proxy (HAProxy) sends before the client's first
// byte, naming the client it accepted (HAProxy's proxy-protocol.txt: version 1 is one text
// line, version 2 a binary block). Pure: bytes in, verdict out, so it can be fuzzed.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <string_view>

namespace backstop::smtp {

// The longest v1 line, CRLF included ("PROXY TCP6 " + two full IPv6 addresses + ports).
inline constexpr std::size_t proxy_v1_max = 107;
// v2: the fixed part; the addresses and TLVs that follow may not exceed proxy_v2_max_payload
// (addresses take 36 bytes at most; the rest is TLVs, which we skip).
inline constexpr std::size_t proxy_v2_fixed = 16;
inline constexpr std::size_t proxy_v2_max_payload = 1024;

enum class ProxyStatus {
  NeedMore, // a strict prefix of a header: every byte given belongs to it, none may be skipped
  Complete,
  Invalid,
};

struct ProxyHeader {
  ProxyStatus status = ProxyStatus::NeedMore;
  int version = 0;                     // 1 or 2 once the first bytes tell
  std::size_t length = 0;              // Complete: the header's bytes (CRLF, TLVs included)
  bool has_client = false;             // Complete: false for v2 LOCAL, v1 UNKNOWN, v2 UNSPEC: the
                                       // connection's own peer stands (a health check of the proxy)
  asio::ip::tcp::endpoint source;      // the client, when has_client
  asio::ip::tcp::endpoint destination; // the address the client connected to
  std::string_view error;              // Invalid: why, for the log (a literal)
};

// Looks at the start of input. NeedMore only while input could still become a header and
// holds no complete one, so a reader may consume all of it and wait for more.
ProxyHeader parse_proxy_header(std::string_view input);

} // namespace backstop::smtp
