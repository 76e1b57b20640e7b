// local_identity: configured names and addresses plus the host's interfaces.
#include "app/local_identity.hpp"

#include "app/peers_config.hpp"
#include "mail/address.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

namespace backstop::app {

namespace {

// Every address configured on an interface: a wildcard listener is reachable on all of them.
void add_interface_addresses(std::set<asio::ip::address>& out) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return;
  }
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) {
      continue;
    }
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.insert(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr),
                bytes.begin());
      out.insert(asio::ip::address_v6(bytes, in6->sin6_scope_id));
      out.insert(asio::ip::address_v6(bytes)); // DNS answers carry no scope
    }
  }
  freeifaddrs(list);
}

} // namespace

delivery::LocalIdentity local_identity(const Config& config) {
  delivery::LocalIdentity self;
  self.names.insert(mail::normalize_domain(config.hostname));
  for (const auto& n : config.local_names) {
    self.names.insert(mail::normalize_domain(n));
  }
  std::vector<std::string> addresses = config.local_addresses;
  for (const auto& e : config.smtp.listen) {
    addresses.push_back(e.host);
  }
  for (const auto& e : config.smtp.listen) {
    std::error_code ec;
    const auto address = asio::ip::make_address(e.host, ec);
    if (!ec) {
      self.listeners.emplace_back(address, e.port);
    }
  }
  bool wildcard = false;
  for (const auto& text : addresses) {
    std::error_code ec;
    const auto address = asio::ip::make_address(text, ec);
    if (ec) {
      continue;
    }
    if (address.is_unspecified()) {
      wildcard = true;
    } else {
      self.addresses.insert(address);
    }
  }
  if (wildcard) {
    self.any_loopback = true;
    add_interface_addresses(self.addresses);
  }
  self.peers = peer_hosts(config);
  return self;
}

} // namespace backstop::app
