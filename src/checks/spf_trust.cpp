// spf_trust: is the client a configured peer or an MX host of the recipient's domain?
#include "checks/spf_trust.hpp"

#include "mail/ip_address.hpp"

namespace backstop::checks {

namespace {

using mail::unmapped;

} // namespace

asio::awaitable<SpfTrust> spf_trust(dns::Resolver* resolver, std::vector<mail::Cidr> networks,
                                    bool mx_hosts, std::string domain, asio::ip::address client) {
  client = unmapped(client);
  const auto ip = mail::address_text(client);
  if (mail::any_contains(networks, ip)) {
    co_return SpfTrust{SpfTrust::Trusted, ip + " is a trusted peer"};
  }
  if (!mx_hosts || resolver == nullptr || domain.empty()) {
    co_return SpfTrust{};
  }
  const auto mx = co_await resolver->mx(domain);
  if (mx.status == dns::Status::TempFail) {
    co_return SpfTrust{SpfTrust::Unknown, "the MX hosts of " + domain + " cannot be looked up"};
  }
  bool unsure = false;
  for (const auto& record : mx.records) {
    if (record.exchange.empty()) {
      continue;
    }
    const auto addresses = co_await resolver->addresses(record.exchange);
    unsure = unsure || addresses.status == dns::Status::TempFail;
    for (const auto& address : addresses.addresses) {
      if (unmapped(address) == client) {
        co_return SpfTrust{SpfTrust::Trusted,
                           ip + " is " + record.exchange + ", an MX host of " + domain};
      }
    }
  }
  if (unsure) {
    co_return SpfTrust{SpfTrust::Unknown,
                       "the addresses of the MX hosts of " + domain + " cannot be looked up"};
  }
  co_return SpfTrust{};
}

} // namespace backstop::checks
