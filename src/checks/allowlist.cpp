// allowlist: clients, senders and recipients that no filter check may refuse. It runs first
// at each stage and permits: a client network for the whole session, a sender for its
// transaction, a recipient for its RCPT. The required rules (relay domains, routing,
// recipient verification) still apply: an allowlist never makes backstop a relay.
//
//   [checks.allowlist]
//   networks = ["192.0.2.0/24", "2001:db8::/32"]
//   senders = ["partner.example", "alerts@monitor.example"]
//   recipients = ["postmaster@example.org", "abuse@example.org"]
#include "mail/cidr.hpp"
#include "policy/check_registry.hpp"

#include <algorithm>

namespace backstop::checks {

namespace {

using policy::Stage;

// "user@domain" matches that address, "domain" (or "@domain") every address there.
bool address_listed(const std::vector<std::string>& list, const mail::Address& address) {
  const std::string full = mail::ascii_lower(address.local) + "@" + address.domain;
  return std::any_of(list.begin(), list.end(), [&](const std::string& entry) {
    if (entry.find('@') == std::string::npos || entry.front() == '@') {
      return mail::normalize_domain(entry.front() == '@' ? entry.substr(1) : entry) ==
             address.domain;
    }
    return mail::ascii_lower(entry) == full;
  });
}

class Allowlist final : public policy::Check {
public:
  Allowlist(std::vector<mail::Cidr> networks, std::vector<std::string> senders,
            std::vector<std::string> recipients)
      : networks_(std::move(networks)), senders_(std::move(senders)),
        recipients_(std::move(recipients)) {}

  std::string_view name() const override { return "allowlist"; }
  bool runs_at(Stage stage) const override {
    return stage == Stage::Connect || stage == Stage::Mail || stage == Stage::Rcpt;
  }
  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    if (stage == Stage::Connect && mail::any_contains(networks_, context.client.ip)) {
      co_return mail::Verdict::permit("allowlist", "client " + context.client.ip + " is listed");
    }
    if (stage == Stage::Mail && !context.sender.is_null() &&
        address_listed(senders_, context.sender)) {
      co_return mail::Verdict::permit("allowlist",
                                      "sender " + context.sender.to_string() + " is listed");
    }
    if (stage == Stage::Rcpt && address_listed(recipients_, context.recipient)) {
      co_return mail::Verdict::permit("allowlist",
                                      "recipient " + context.recipient.to_string() + " is listed");
    }
    co_return mail::Verdict::accept("allowlist");
  }

private:
  std::vector<mail::Cidr> networks_;
  std::vector<std::string> senders_;
  std::vector<std::string> recipients_;
};

std::unique_ptr<policy::Check> make_allowlist(policy::Settings& settings,
                                              const policy::CheckServices* services) {
  std::vector<std::string> network_texts;
  std::vector<std::string> senders;
  std::vector<std::string> recipients;
  settings.strings("networks", network_texts);
  settings.strings("senders", senders);
  settings.strings("recipients", recipients);
  std::vector<mail::Cidr> networks;
  for (const auto& text : network_texts) {
    if (auto cidr = mail::Cidr::parse(text)) {
      networks.push_back(*cidr);
    } else {
      settings.error("networks", "\"" + text + "\" is not an address or network");
    }
  }
  if (services == nullptr || (networks.empty() && senders.empty() && recipients.empty())) {
    return nullptr;
  }
  return std::make_unique<Allowlist>(std::move(networks), std::move(senders),
                                     std::move(recipients));
}

const policy::RegisterCheck registration{{"allowlist", 0, &make_allowlist}};

} // namespace

} // namespace backstop::checks
