// peers: a peer backstop ([peers], mail/peer_hosts.hpp) relays mail it accepted as a backup
// MX of the same domains; its checks ran on the original client. It runs first at connect
// (order -200, before mx_contacts and the allowlist) and permits the whole session, so no
// filter check runs on it: it is never recorded as an MX contact, never greylisted,
// DNSBL-, HELO-, PTR-, SPF-, rate- or primary_up-checked, never refused by the blacklist
// nor counted as an offender or a client that skipped the primary. The required rules
// (relay domains, routing, recipient verification) still apply. Its section takes only the
// common keys (mode = "off": peers are checked as any client, SPF still trusts them).
#include "checks/peer_match.hpp"
#include "policy/check_registry.hpp"

namespace backstop::checks {

namespace {

using policy::Stage;

class Peers final : public policy::Check {
public:
  Peers(mail::PeerHosts peers, dns::Resolver* resolver)
      : peers_(std::move(peers)), resolver_(resolver) {}

  std::string_view name() const override { return "peers"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Connect; }

  asio::awaitable<mail::Verdict> check(Stage,
                                       const policy::SessionContext& context) const override {
    const auto why = co_await peer_match(resolver_, peers_, context.client.address);
    if (why.empty()) {
      co_return mail::Verdict::accept("peers");
    }
    co_return mail::Verdict::permit("peers", why + ": relayed mail, filter checks skipped");
  }

private:
  mail::PeerHosts peers_;
  dns::Resolver* resolver_;
};

std::unique_ptr<policy::Check> make_peers(policy::Settings&,
                                          const policy::CheckServices* services) {
  if (services == nullptr || services->peers.empty()) {
    return nullptr;
  }
  return std::make_unique<Peers>(services->peers, services->resolver);
}

const policy::RegisterCheck registration{{"peers", -200, &make_peers}};

} // namespace

} // namespace backstop::checks
