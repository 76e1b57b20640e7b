// handlers: which class serves which kind.
#include "trap/handlers.hpp"

#include "mail/ip_address.hpp"
#include "trap/defer_session.hpp"
#include "trap/recorder.hpp"
#include "trap/refuse.hpp"
#include "trap/tarpit.hpp"

namespace backstop::trap {

std::string client_address(const asio::ip::tcp::endpoint& remote) {
  return mail::unmapped(remote.address()).to_string();
}

std::unique_ptr<smtp::ConnectionHandler> make_handler(TrapListener listener,
                                                      const TrapServices& services) {
  switch (listener.kind) {
  case Kind::Refuse:
    return std::make_unique<RefuseHandler>(std::move(listener), services);
  case Kind::Defer:
    return std::make_unique<DeferHandler>(std::move(listener), services);
  case Kind::Tarpit:
    return std::make_unique<TarpitHandler>(std::move(listener), services);
  case Kind::Smtp:
    break;
  }
  return nullptr;
}

namespace {

struct StaleNotice {
  StaleNotice(TrapListener l, const TrapServices& services)
      : listener(std::move(l)), recorder(listener, services) {}
  TrapListener listener;
  Recorder recorder;
};

} // namespace

std::function<void(const smtp::Peers&)> stale_smtp_notice(TrapListener listener,
                                                          const TrapServices& services) {
  auto notice = std::make_shared<const StaleNotice>(std::move(listener), services);
  return [notice](const smtp::Peers& peers) {
    Hit hit;
    hit.address = client_address(peers.remote);
    hit.detail = "connected (an SMTP session follows)";
    notice->recorder.record(hit);
  };
}

} // namespace backstop::trap
