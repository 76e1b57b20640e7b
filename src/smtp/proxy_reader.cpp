// proxy_reader: peek at what has arrived, let the parser say how much of it is the header,
// and read exactly that. While the parser needs more, everything seen is header (its
// promise), so it is read too and the next peek waits for new bytes instead of spinning.
#include "smtp/proxy_reader.hpp"

#include "smtp/asio_tokens.hpp"

#include <array>
#include <memory>
#include <string>

namespace backstop::smtp {

namespace {

// Shared with the deadline's handler, which may run after the read is over.
struct Deadline {
  asio::ip::tcp::socket* socket = nullptr;
  bool done = false;
  bool expired = false;
};

mail::Error failure(const std::string& why) { return mail::make_error(why); }

mail::Error read_failure(const Deadline& deadline, std::error_code ec) {
  if (deadline.expired) {
    return failure("no complete PROXY header within the deadline");
  }
  if (ec == asio::error::eof) {
    return failure("closed before a complete PROXY header");
  }
  return failure("reading the PROXY header: " + ec.message());
}

using Buffer = std::array<char, proxy_v2_fixed + proxy_v2_max_payload>;

asio::awaitable<mail::Result<ProxyHeader>>
read_until_complete(asio::ip::tcp::socket& socket, Buffer& buffer, const Deadline& deadline) {
  std::size_t have = 0;
  for (;;) {
    if (deadline.expired) {
      co_return read_failure(deadline, {});
    }
    auto room = asio::buffer(buffer.data() + have, buffer.size() - have);
    auto [peek_error, seen] =
        co_await socket.async_receive(room, asio::socket_base::message_peek, use_tuple);
    if (peek_error || seen == 0 || deadline.expired) {
      co_return read_failure(deadline, peek_error ? peek_error : asio::error::eof);
    }
    const auto header = parse_proxy_header(std::string_view(buffer.data(), have + seen));
    if (header.status == ProxyStatus::Invalid) {
      co_return failure(std::string(header.error));
    }
    const std::size_t take = header.status == ProxyStatus::Complete ? header.length - have : seen;
    auto exact = asio::buffer(buffer.data() + have, take);
    auto [read_error, got] = co_await asio::async_read(socket, exact, use_tuple);
    if (read_error) {
      co_return read_failure(deadline, read_error);
    }
    have += got;
    if (header.status == ProxyStatus::Complete) {
      co_return header;
    }
  }
}

} // namespace

asio::awaitable<mail::Result<ProxyHeader>> read_proxy_header(asio::ip::tcp::socket& socket,
                                                             std::chrono::milliseconds timeout) {
  auto deadline = std::make_shared<Deadline>();
  deadline->socket = &socket;
  asio::steady_timer timer(socket.get_executor(), timeout);
  timer.async_wait([deadline](std::error_code ec) {
    if (ec || deadline->done) {
      return;
    }
    deadline->expired = true;
    std::error_code ignored;
    deadline->socket->cancel(ignored);
  });
  Buffer buffer;
  auto result = co_await read_until_complete(socket, buffer, *deadline);
  deadline->done = true;
  timer.cancel();
  co_return result;
}

} // namespace backstop::smtp
