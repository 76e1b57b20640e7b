// peer_match: [peers] addresses first, then each name's addresses.
#include "checks/peer_match.hpp"

#include "mail/ip_address.hpp"

namespace backstop::checks {

asio::awaitable<std::string> peer_match(dns::Resolver* resolver, const mail::PeerHosts& peers,
                                        asio::ip::address client) {
  client = mail::unmapped(client);
  const auto ip = mail::address_text(client);
  if (peers.has_address(ip)) {
    co_return ip + " is a peer backstop";
  }
  if (resolver == nullptr) {
    co_return std::string{};
  }
  for (const auto& name : peers.names) {
    const auto answer = co_await resolver->addresses(name);
    for (const auto& address : answer.addresses) {
      if (mail::unmapped(address) == client) {
        co_return ip + " is peer backstop " + name;
      }
    }
  }
  co_return std::string{};
}

} // namespace backstop::checks
