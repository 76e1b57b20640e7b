// tarpit: a slow, byte-by-byte banner and replies, like OpenBSD spamd (-s 1: one byte a
// second). It holds thousands of connections for almost no memory or CPU: the socket is
// taken out of the event loop's reactor (no pending operation, no coroutine per
// connection); each connection is a fixed slot (its conversation, a 512-byte line buffer)
// in a slab per loop; one timer per loop walks the connections that are due (a FIFO:
// trap/stutter_queue.hpp), sends each one byte or polls it for a command line with one
// non-blocking recv. The listener's max_bytes_per_second (its CPU) stretches the delay when
// more connections are held than it serves at the stutter. The conversation is the defer
// trap's (trap/conversation.hpp); after max_duration the rest of the reply and a 421 go out
// at once and the connection closes.
#pragma once

#include "smtp/connection_limiter.hpp"
#include "smtp/listener.hpp"
#include "trap/recorder.hpp"

#include <memory>
#include <vector>

namespace backstop::trap {

class TarpitLoop;

class TarpitHandler final : public smtp::ConnectionHandler {
public:
  TarpitHandler(TrapListener listener, const TrapServices& services);
  ~TarpitHandler() override;
  void start(std::size_t loop, asio::ip::tcp::socket socket, const smtp::Peers& peers) override;

  const TrapListener& listener() const { return listener_; }
  const TrapServices& services() const { return services_; }
  const Replies& replies() const { return replies_; }
  const Recorder& recorder() const { return recorder_; }

private:
  TrapListener listener_;
  const TrapServices& services_;
  Replies replies_;
  Recorder recorder_;
  std::vector<std::unique_ptr<TarpitLoop>> loops_; // one per server loop, by index
};

} // namespace backstop::trap
