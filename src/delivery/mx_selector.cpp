// mx_selector: RFC 5321 5.1 ordering and the backup-MX cut.
#include "delivery/mx_selector.hpp"

#include "mail/ip_address.hpp"

#include <algorithm>

namespace backstop::delivery {

bool LocalIdentity::is_local(const asio::ip::address& address) const {
  const auto a = mail::unmapped(address);
  return addresses.count(a) != 0 || (any_loopback && a.is_loopback());
}

bool LocalIdentity::is_listener(const asio::ip::tcp::endpoint& endpoint) const {
  return std::any_of(listeners.begin(), listeners.end(), [&](const auto& l) {
    return l.port() == endpoint.port() &&
           (l.address() == endpoint.address() ||
            (l.address().is_unspecified() && is_local(endpoint.address())));
  });
}

bool LocalIdentity::is_local(const std::string& host,
                             const std::vector<asio::ip::address>& addrs) const {
  if (names.count(host) != 0) {
    return true;
  }
  return std::any_of(addrs.begin(), addrs.end(), [this](const auto& a) { return is_local(a); });
}

bool LocalIdentity::is_peer(const std::string& host,
                            const std::vector<asio::ip::address>& addrs) const {
  if (peers.has_name(host)) {
    return true;
  }
  return std::any_of(addrs.begin(), addrs.end(),
                     [this](const auto& a) { return peers.has_address(a); });
}

namespace {

MxSelection failure(std::string error, bool permanent, bool loop = false) {
  MxSelection s;
  s.error = std::move(error);
  s.permanent = permanent;
  s.mail_loop = loop;
  return s;
}

MxSelection implicit_mx(const MxInput& in, const LocalIdentity& self) {
  const auto& a = in.domain_addresses;
  if (a.status == dns::Status::TempFail) {
    return failure("address lookup for " + in.domain + " failed temporarily", false);
  }
  if (a.status != dns::Status::Found) {
    return failure("domain " + in.domain + " has no MX and no address records", true);
  }
  if (self.is_local(in.domain, a.addresses)) {
    return failure("the implicit MX of " + in.domain + " is this host: mail loop", false, true);
  }
  MxSelection s;
  s.targets.push_back({in.domain, 0, a.addresses});
  return s;
}

const std::vector<asio::ip::address>& addresses_of(const MxInput& in, const std::string& host) {
  static const std::vector<asio::ip::address> none;
  auto it = in.exchange_addresses.find(host);
  return it == in.exchange_addresses.end() ? none : it->second.addresses;
}

} // namespace

MxSelection select_mx(const MxInput& in, const LocalIdentity& self, std::mt19937& random) {
  switch (in.mx.status) {
  case dns::Status::TempFail:
    return failure("MX lookup for " + in.domain + " failed temporarily", false);
  case dns::Status::NxDomain:
    return failure("domain " + in.domain + " does not exist", true);
  case dns::Status::NoData:
    return implicit_mx(in, self);
  case dns::Status::Found:
    break;
  }
  if (in.mx.null_mx()) {
    return failure("domain " + in.domain + " does not accept mail (null MX, RFC 7505)", true);
  }
  auto records = in.mx.records;
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.preference < b.preference; });
  unsigned cut = ~0u;
  for (const auto& r : records) {
    if (self.is_local(r.exchange, addresses_of(in, r.exchange))) {
      cut = std::min(cut, r.preference);
    }
  }
  std::vector<dns::MxRecord> usable;
  bool peers_dropped = false;
  for (const auto& r : records) {
    if (r.preference >= cut || r.exchange.empty()) {
      continue;
    }
    // Not listed ourselves: whether a peer is more preferred than we are is unknown.
    if (cut == ~0u && self.is_peer(r.exchange, addresses_of(in, r.exchange))) {
      peers_dropped = true;
      continue;
    }
    usable.push_back(r);
  }
  if (usable.empty() && peers_dropped) {
    return failure("every MX host of " + in.domain +
                       " is a peer backstop and this host is not among them: mail loop",
                   false, true);
  }
  if (usable.empty()) {
    return failure("this host is the best MX for " + in.domain + ": mail loop", false, true);
  }
  // RFC 5321 5.1: hosts of equal preference are tried in random order.
  for (auto first = usable.begin(); first != usable.end();) {
    auto last = std::find_if(first, usable.end(),
                             [&](const auto& r) { return r.preference != first->preference; });
    std::shuffle(first, last, random);
    first = last;
  }
  MxSelection s;
  bool temporary = false;
  for (const auto& r : usable) {
    auto it = in.exchange_addresses.find(r.exchange);
    if (it == in.exchange_addresses.end() || it->second.status != dns::Status::Found) {
      temporary = temporary || it == in.exchange_addresses.end() ||
                  it->second.status == dns::Status::TempFail;
      continue;
    }
    s.targets.push_back({r.exchange, r.preference, it->second.addresses});
  }
  if (s.targets.empty()) {
    return failure("no MX host of " + in.domain + " has an address", !temporary);
  }
  return s;
}

} // namespace backstop::delivery
