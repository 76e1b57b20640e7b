// defer_session: the defer trap, the fake least-preferred MX of seed 000. Banner, plausible
// replies up to the first RCPT (so the client names the domain it wants), then 4xx to
// everything (trap/conversation.hpp). Bounded: command lines (512 bytes kept), commands
// (max_commands) and the whole session (max_duration, then 421). Records the client with
// what it said when the session ends.
#pragma once

#include "smtp/connection_limiter.hpp"
#include "smtp/listener.hpp"
#include "trap/recorder.hpp"

#include <memory>

namespace backstop::trap {

class DeferHandler final : public smtp::ConnectionHandler {
public:
  DeferHandler(TrapListener listener, const TrapServices& services);
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
};

} // namespace backstop::trap
