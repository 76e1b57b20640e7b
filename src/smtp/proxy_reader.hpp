// proxy_reader: reads the PROXY protocol header (smtp/proxy_header.hpp) that opens every
// connection to a listener behind HAProxy, within a deadline and without reading one byte
// past it: what follows belongs to the SMTP session (or trap) that runs next.
#pragma once

#include "mail/cidr.hpp"
#include "mail/result.hpp"
#include "smtp/proxy_header.hpp"

#include <asio.hpp>
#include <chrono>
#include <vector>

namespace backstop::smtp {

// A listener that expects the header: who may send it, and how long it may take.
struct ProxySettings {
  std::vector<mail::Cidr> trusted; // the proxies' networks; anyone else is closed
  std::chrono::milliseconds timeout{5000};
};

// A Complete header, or why there is none (malformed, closed, the deadline passed).
asio::awaitable<mail::Result<ProxyHeader>> read_proxy_header(asio::ip::tcp::socket& socket,
                                                             std::chrono::milliseconds timeout);

} // namespace backstop::smtp
