// server: the SMTP listeners. Accepts on every configured address, admits or refuses each
// connection (ConnectionLimiter), and starts a Session on the next event loop in turn, so
// the loops share the load without sharing sessions.
#pragma once

#include "mail/result.hpp"
#include "smtp/connection_limiter.hpp"
#include "smtp/session_options.hpp"

#include <asio.hpp>
#include <memory>
#include <vector>

namespace backstop::smtp {

class Server {
public:
  Server(const SessionOptions& options, ConnectionLimiter& limiter,
         std::vector<asio::io_context*> loops);

  // Binds every endpoint (errors name the address); the accept loops start at once.
  mail::Status listen(const std::vector<asio::ip::tcp::endpoint>& endpoints);
  std::vector<asio::ip::tcp::endpoint> bound() const;
  void stop();

private:
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor);
  void start_session(asio::ip::tcp::socket socket);

  const SessionOptions& options_;
  ConnectionLimiter& limiter_;
  std::vector<asio::io_context*> loops_;
  std::size_t next_loop_ = 0;
  std::string id_prefix_;              // this run's start time: ids never repeat across restarts
  std::uint64_t sessions_started_ = 0; // accept loops all run on the first loop
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
};

} // namespace backstop::smtp
