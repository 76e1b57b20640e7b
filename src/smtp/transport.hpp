// transport: the bytes under an SMTP session: a TCP socket that may switch to TLS after
// STARTTLS. Sessions read and write through it without caring which one is active.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <memory>
#include <string>

namespace backstop::smtp {

class Transport {
public:
  explicit Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec);
  asio::awaitable<void> write(asio::const_buffer buffer, std::error_code& ec);
  // Server side of STARTTLS; on failure the connection is unusable and must be closed:
  // later reads and writes fail at once (a half-done handshake is never written to). The
  // caller bounds the handshake (the session's watchdog cancels the socket).
  asio::awaitable<void> start_tls(asio::ssl::context& context, std::error_code& ec);

  // Client side of STARTTLS (delivery). server_name goes into SNI; when verify is set the
  // peer certificate must chain to the system trust store and match server_name.
  asio::awaitable<void> start_tls_client(asio::ssl::context& context,
                                         const std::string& server_name, bool verify,
                                         std::error_code& ec);
  bool tls_active() const { return tls_ != nullptr; }
  std::string tls_description() const; // "TLSv1.3 TLS_AES_256_GCM_SHA384"
  asio::ip::tcp::socket& socket() { return socket_; }
  void close();

private:
  std::size_t write_now(asio::const_buffer buffer, std::error_code& ec);

  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  bool broken_ = false; // a TLS handshake failed
};

// Client context for delivery: system trust store, TLS 1.2 or newer.
std::unique_ptr<asio::ssl::context> make_client_tls_context();

// Loads certificate chain and key; TLS 1.2 or newer only.
std::unique_ptr<asio::ssl::context>
make_server_tls_context(const std::string& certificate, const std::string& key, std::string& error);

} // namespace backstop::smtp
