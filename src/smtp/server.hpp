// server: the SMTP listeners. Every event loop accepts on its own socket of each configured
// address (SO_REUSEPORT: the kernel spreads connections over the loops), admits or refuses
// each connection (ConnectionLimiter) and runs its Session on that same loop, so a new
// connection wakes one thread and never hops between them.
#pragma once

#include "mail/result.hpp"
#include "smtp/connection_limiter.hpp"
#include "smtp/session.hpp"
#include "smtp/session_options.hpp"

#include <asio.hpp>
#include <atomic>
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
  void start_session(asio::ip::tcp::socket socket, const Session::Peers& peers);
  // One socket of endpoint on loop; port 0 is not allowed (the caller fixes it first).
  mail::Status open_acceptor(asio::io_context& loop, const asio::ip::tcp::endpoint& endpoint);

  const SessionOptions& options_;
  ConnectionLimiter& limiter_;
  std::vector<asio::io_context*> loops_;
  std::string id_prefix_; // this run's start time: ids never repeat across restarts
  std::atomic<std::uint64_t> sessions_started_ = 0; // every loop accepts
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
};

} // namespace backstop::smtp
