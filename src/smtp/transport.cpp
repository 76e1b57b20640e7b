// transport: plain or TLS reads and writes for a session.
#include "smtp/transport.hpp"

#include "smtp/asio_tokens.hpp"

namespace backstop::smtp {

asio::awaitable<std::size_t> Transport::read_some(asio::mutable_buffer buffer,
                                                  std::error_code& ec) {
  std::size_t n = 0;
  if (broken_) {
    ec = asio::error::not_connected;
  } else if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(buffer, use_tuple);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(buffer, use_tuple);
  }
  co_return n;
}

asio::awaitable<void> Transport::write(asio::const_buffer buffer, std::error_code& ec) {
  std::size_t n = 0;
  if (broken_) {
    ec = asio::error::not_connected;
  } else if (tls_) {
    std::tie(ec, n) = co_await asio::async_write(*tls_, buffer, use_tuple);
  } else if (const std::size_t done = write_now(buffer, ec); !ec && done < buffer.size()) {
    std::tie(ec, n) = co_await asio::async_write(socket_, buffer + done, use_tuple);
  }
}

// A reply nearly always fits in the socket's send buffer: sent here, the session's coroutine
// goes on without a trip through the scheduler (issue 13). What does not fit waits for room.
std::size_t Transport::write_now(asio::const_buffer buffer, std::error_code& ec) {
  if (!socket_.non_blocking()) {
    socket_.non_blocking(true, ec); // once per connection; Asio would set it on its own
    if (ec) {
      return 0;
    }
  }
  std::size_t done = 0;
  while (done < buffer.size()) {
    done += socket_.write_some(buffer + done, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec.clear();
      break;
    }
    if (ec) {
      break;
    }
  }
  return done;
}

asio::awaitable<void> Transport::start_tls(asio::ssl::context& context, std::error_code& ec) {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, context);
  std::tie(ec) = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_tuple);
  broken_ = static_cast<bool>(ec);
}

asio::awaitable<void> Transport::start_tls_client(asio::ssl::context& context,
                                                  const std::string& server_name, bool verify,
                                                  std::error_code& ec) {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, context);
  SSL_set_tlsext_host_name(tls_->native_handle(), server_name.c_str());
  if (verify) {
    tls_->set_verify_mode(asio::ssl::verify_peer);
    tls_->set_verify_callback(asio::ssl::host_name_verification(server_name));
  } else {
    tls_->set_verify_mode(asio::ssl::verify_none); // opportunistic: encryption, no identity
  }
  std::tie(ec) = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  broken_ = static_cast<bool>(ec);
}

std::unique_ptr<asio::ssl::context> make_client_tls_context() {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  std::error_code ignored;
  ctx->set_default_verify_paths(ignored);
  return ctx;
}

std::string Transport::tls_description() const {
  if (!tls_) {
    return {};
  }
  SSL* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(*tls_).native_handle();
  std::string out = SSL_get_version(ssl);
  if (const char* cipher = SSL_get_cipher_name(ssl)) {
    out += " ";
    out += cipher;
  }
  return out;
}

// close() alone sends the FIN (no other descriptor shares the socket): no shutdown() first.
void Transport::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

std::unique_ptr<asio::ssl::context> make_server_tls_context(const std::string& certificate,
                                                            const std::string& key,
                                                            std::string& error) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  std::error_code ec;
  ctx->use_certificate_chain_file(certificate, ec);
  if (!ec) {
    ctx->use_private_key_file(key, asio::ssl::context::pem, ec);
  }
  if (ec) {
    error = "cannot load TLS certificate/key (" + certificate + ", " + key + "): " + ec.message();
    return nullptr;
  }
  return ctx;
}

} // namespace backstop::smtp
