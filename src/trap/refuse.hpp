// refuse: nolisting, the fake most-preferred MX. Every connection is reset at once
// (SO_LINGER 0, then close: an RST, so the sender moves on to the next MX at once, as after
// a firewall REJECT, seed 004) and recorded.
#pragma once

#include "smtp/listener.hpp"
#include "trap/recorder.hpp"

namespace backstop::trap {

class RefuseHandler final : public smtp::ConnectionHandler {
public:
  RefuseHandler(TrapListener listener, const TrapServices& services)
      : listener_(std::move(listener)), recorder_(listener_, services) {}
  void start(std::size_t loop, asio::ip::tcp::socket socket, const smtp::Peers& peers) override;

private:
  TrapListener listener_;
  Recorder recorder_;
};

} // namespace backstop::trap
