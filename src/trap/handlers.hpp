// handlers: the trap listeners as smtp::ConnectionHandler objects, one per configured
// [[listener]] of a trap kind; app passes them to smtp::Server with the listener's address.
#pragma once

#include "smtp/listener.hpp"
#include "trap/trap_listener.hpp"

#include <functional>
#include <memory>

namespace backstop::trap {

// A handler for a refuse, defer or tarpit listener. services must outlive it.
std::unique_ptr<smtp::ConnectionHandler> make_handler(TrapListener listener,
                                                      const TrapServices& services);

// For an SMTP listener marked stale_since: records each contact after the grace (at
// connect: its sessions run as usual). services must outlive it.
std::function<void(const smtp::Peers&)> stale_smtp_notice(TrapListener listener,
                                                          const TrapServices& services);

// The client's address as an offense names it: textual, IPv4-mapped IPv6 unmapped.
std::string client_address(const asio::ip::tcp::endpoint& remote);

} // namespace backstop::trap
