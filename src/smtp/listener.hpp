// listener: what the server runs on an address. The normal SMTP session, or a handler of
// another kind (the trap listeners of src/trap/) that takes over each accepted connection;
// the server itself stays the same for every kind: per-loop SO_REUSEPORT acceptors and the
// port-claim probe.
#pragma once

#include "metrics/counters.hpp"
#include "smtp/proxy_reader.hpp"

#include <asio.hpp>
#include <cstddef>
#include <functional>
#include <optional>

namespace backstop::smtp {

// Both ends of an accepted connection, from accept() and the listener (no getpeername()).
struct Peers {
  asio::ip::tcp::endpoint remote;
  asio::ip::tcp::endpoint local;
};

// Takes over accepted connections. start() runs on the loop that accepted the socket;
// loop is that loop's index in the server's list, so a handler can keep state per loop
// without locks.
class ConnectionHandler {
public:
  virtual ~ConnectionHandler() = default;
  virtual void start(std::size_t loop, asio::ip::tcp::socket socket, const Peers& peers) = 0;
};

struct Listener {
  asio::ip::tcp::endpoint endpoint;
  ConnectionHandler* handler = nullptr; // null: the SMTP session (smtp/session.hpp)
  // SMTP listeners only: told of each connection before its session starts (a stale MX
  // address records the contact); may be empty.
  std::function<void(const Peers&)> on_accept;
  // Counts every connection accepted here (backstop_listener_connections_total); may be null.
  metrics::ListenerCount* count = nullptr;
  // Set: a proxy (HAProxy) sends a PROXY header first, from its trusted networks only; the
  // client it names is the remote peer for everything after (any kind of listener).
  std::optional<ProxySettings> proxy;
};

} // namespace backstop::smtp
