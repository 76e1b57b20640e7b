// reverse_dns: the client's PTR name and whether it is forward-confirmed (one of the names
// resolves back to the client address: RFC 8601 "iprev"). At connect it records the facts
// ptr, ptr_confirmed ("yes" / "no") and reverse_dns.result for the checks after it; the
// optional refusal comes at RCPT (as Postfix's reject_unknown_client_hostname with its
// delayed reject), where 450/550 are valid replies and allowlisted recipients still win.
// DNS trouble claims nothing: no ptr_confirmed, and a deferral where a refusal was asked.
//
//   [checks.reverse_dns]
//   enabled = true
//   require = "confirmed"   # "none" (facts only, the default) | "ptr" | "confirmed"
#include "mail/ip_address.hpp"
#include "policy/check_registry.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <optional>

namespace backstop::checks {

namespace {

using policy::Stage;

enum class Require { None, Ptr, Confirmed };
enum class Iprev { Confirmed, Unconfirmed, None, TempError };

// A name server may list many names; RFC 8601 2.7.3 lets a verifier stop after a few.
constexpr std::size_t max_names_checked = 10;

constexpr std::string_view result_word(Iprev r) {
  switch (r) {
  case Iprev::Confirmed:
    return "confirmed";
  case Iprev::Unconfirmed:
    return "unconfirmed";
  case Iprev::None:
    return "none";
  case Iprev::TempError:
    break;
  }
  return "temperror";
}

std::optional<Iprev> result_of(std::string_view word) {
  for (Iprev r : {Iprev::Confirmed, Iprev::Unconfirmed, Iprev::None, Iprev::TempError}) {
    if (result_word(r) == word) {
      return r;
    }
  }
  return std::nullopt;
}

struct Lookup {
  Iprev result = Iprev::TempError;
  std::string name; // the confirmed name, else the first one
  std::string error;
};

using mail::unmapped;

bool lists(const std::vector<asio::ip::address>& addresses, const asio::ip::address& client) {
  for (const auto& a : addresses) {
    if (unmapped(a) == client) {
      return true;
    }
  }
  return false;
}

asio::awaitable<Lookup> look_up(dns::Resolver* resolver, asio::ip::address client) {
  client = unmapped(client);
  Lookup out;
  const dns::NameAnswer ptr = co_await resolver->ptr(client);
  if (ptr.status == dns::Status::TempFail) {
    out.error = ptr.error.empty() ? "PTR lookup failed" : ptr.error;
    co_return out;
  }
  if (ptr.status != dns::Status::Found || ptr.names.empty()) {
    out.result = Iprev::None;
    co_return out;
  }
  out.name = ptr.names.front();
  bool trouble = false;
  const std::size_t n = std::min(ptr.names.size(), max_names_checked);
  for (std::size_t i = 0; i < n; ++i) {
    const dns::AddressAnswer forward = co_await resolver->addresses(ptr.names[i]);
    if (forward.status == dns::Status::TempFail) {
      trouble = true;
      out.error = forward.error;
    } else if (forward.status == dns::Status::Found && lists(forward.addresses, client)) {
      out.result = Iprev::Confirmed;
      out.name = ptr.names[i];
      co_return out;
    }
  }
  out.result = trouble ? Iprev::TempError : Iprev::Unconfirmed;
  co_return out;
}

// Started by prefetch: the resolver keeps the answers (and joins a question already on its
// way), so check() finds them. By-value parameters: it may outlive the session.
asio::awaitable<void> warm_up(dns::Resolver* resolver, asio::ip::address client) {
  co_await look_up(resolver, client);
}

class ReverseDns final : public policy::Check {
public:
  ReverseDns(dns::Resolver* resolver, Require require) : resolver_(resolver), require_(require) {}

  std::string_view name() const override { return "reverse_dns"; }
  bool runs_at(Stage stage) const override {
    return stage == Stage::Connect || (stage == Stage::Rcpt && require_ != Require::None);
  }
  void prefetch(Stage stage, const policy::SessionContext& context) const override {
    if (stage == Stage::Connect) {
      asio::co_spawn(context.executor, warm_up(resolver_, context.client.address), asio::detached);
    }
  }
  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    if (stage == Stage::Connect) {
      co_return facts_of(co_await look_up(resolver_, context.client.address));
    }
    co_return co_await enforce(context);
  }

private:
  static mail::Verdict facts_of(const Lookup& lookup) {
    std::string reason = "iprev " + std::string(result_word(lookup.result));
    auto v = mail::Verdict::accept("reverse_dns");
    if (!lookup.name.empty()) {
      v.facts.push_back({std::string(policy::facts::ptr), lookup.name});
      reason += " (" + lookup.name + ")";
    }
    if (lookup.result != Iprev::TempError) {
      v.facts.push_back({std::string(policy::facts::ptr_confirmed),
                         lookup.result == Iprev::Confirmed ? "yes" : "no"});
    } else {
      reason += ": " + lookup.error;
    }
    v.facts.push_back({"reverse_dns.result", std::string(result_word(lookup.result))});
    v.reason = std::move(reason);
    return v;
  }

  // What connect found; asked again when it was not recorded or DNS was in trouble then.
  asio::awaitable<Iprev> known_result(const policy::SessionContext& context) const {
    const auto recorded = result_of(context.fact("reverse_dns.result"));
    if (recorded && *recorded != Iprev::TempError) {
      co_return *recorded;
    }
    const Lookup fresh = co_await look_up(resolver_, context.client.address);
    co_return fresh.result;
  }

  asio::awaitable<mail::Verdict> enforce(const policy::SessionContext& context) const {
    const Iprev result = co_await known_result(context);
    const std::string& ip = context.client.ip;
    if (result == Iprev::TempError) {
      co_return mail::Verdict::decide(
          mail::Decision::Defer,
          {450, "4.7.25", "Client host rejected: cannot find your hostname, [" + ip + "]"},
          "reverse_dns", "reverse DNS of " + ip + " cannot be checked now");
    }
    const bool refused =
        result == Iprev::None || (require_ == Require::Confirmed && result == Iprev::Unconfirmed);
    if (!refused) {
      co_return mail::Verdict::accept("reverse_dns");
    }
    const std::string what =
        result == Iprev::None ? "has no PTR record" : "has a PTR name that does not resolve back";
    co_return mail::Verdict::decide(
        mail::Decision::Reject,
        {550, "5.7.25", "Client host rejected: [" + ip + "] " + what + " (reverse_dns)"},
        "reverse_dns", ip + " " + what);
  }

  dns::Resolver* resolver_;
  Require require_;
};

std::unique_ptr<policy::Check> make_reverse_dns(policy::Settings& settings,
                                                const policy::CheckServices* services) {
  bool enabled = false;
  settings.boolean("enabled", enabled);
  const auto require =
      static_cast<Require>(settings.choice("require", {"none", "ptr", "confirmed"}, 0));
  if (services == nullptr || !enabled) {
    return nullptr;
  }
  if (services->resolver == nullptr) { // a wiring fault: say so rather than pass silently
    if (services->log) {
      services->log->error("checks.reverse_dns: no DNS resolver for checks; the check is off");
    }
    return nullptr;
  }
  return std::make_unique<ReverseDns>(services->resolver, require);
}

const policy::RegisterCheck registration{{"reverse_dns", 50, &make_reverse_dns}};

} // namespace

} // namespace backstop::checks
