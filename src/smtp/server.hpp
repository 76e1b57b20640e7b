// server: the listeners. Every event loop accepts on its own socket of each configured
// address (SO_REUSEPORT: the kernel spreads connections over the loops). On an SMTP listener
// it admits or refuses each connection (ConnectionLimiter) and runs its Session on that same
// loop, so a new connection wakes one thread and never hops between them; a listener of
// another kind hands the connection to its handler on that loop (smtp/listener.hpp).
#pragma once

#include "mail/result.hpp"
#include "smtp/connection_limiter.hpp"
#include "smtp/listener.hpp"
#include "smtp/session.hpp"
#include "smtp/session_options.hpp"

#include <asio.hpp>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <vector>

namespace backstop::smtp {

class Server {
public:
  Server(const SessionOptions& options, ConnectionLimiter& limiter,
         std::vector<asio::io_context*> loops);

  // Binds every endpoint (errors name the address); the accept loops start at once.
  mail::Status listen(const std::vector<asio::ip::tcp::endpoint>& endpoints);
  // The same for listeners of any kind.
  mail::Status listen(const std::vector<Listener>& listeners);
  std::vector<asio::ip::tcp::endpoint> bound() const;
  // Closes every listening socket (on its own loop); sessions go on.
  void stop();
  // Shutdown: stop(), refuse what was accepted meanwhile, and tell every open session to end
  // (Session::stop_soon: 421 at its next command).
  void drain();
  // SMTP sessions not yet ended, on every loop (trap connections are not counted).
  std::size_t open_sessions() const { return open_sessions_.load(); }

private:
  struct Acceptor {
    std::unique_ptr<asio::ip::tcp::acceptor> socket;
    std::size_t loop = 0;               // index into loops_
    const Listener* listener = nullptr; // into listeners_
  };
  asio::awaitable<void> accept_loop(Acceptor& acceptor);
  // The listener's kind takes over (a handler or the SMTP session), with the peers it sees.
  void hand_over(const Acceptor& entry, asio::ip::tcp::socket socket, const Peers& peers);
  // A proxy listener: the PROXY header first; its client replaces the proxy as the remote.
  asio::awaitable<void> admit_proxied(const Acceptor& entry, asio::ip::tcp::socket socket,
                                      Peers peers);
  void drop_proxied(asio::ip::tcp::socket& socket, const Peers& peers, const std::string& why);
  void start_session(std::size_t loop, asio::ip::tcp::socket socket, const Peers& peers);
  void session_ended(std::size_t loop, const Session* session);
  // One socket of endpoint on loop; port 0 is not allowed (the caller fixes it first).
  mail::Status open_acceptor(std::size_t loop, const asio::ip::tcp::endpoint& endpoint,
                             const Listener& listener);

  const SessionOptions& options_;
  ConnectionLimiter& limiter_;
  std::vector<asio::io_context*> loops_;
  std::string id_prefix_; // this run's start time: ids never repeat across restarts
  std::atomic<std::uint64_t> sessions_started_ = 0;  // every loop accepts
  std::vector<std::unique_ptr<Listener>> listeners_; // stable: acceptors point at them
  std::deque<Acceptor> acceptors_;                   // stable: each accept loop holds its entry
  // Per loop, touched only on that loop: the sessions drain() must reach.
  std::vector<std::map<const Session*, std::weak_ptr<Session>>> sessions_;
  std::atomic<std::size_t> open_sessions_ = 0;
  std::atomic<bool> draining_ = false;
};

} // namespace backstop::smtp
