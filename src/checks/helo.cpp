// helo: what the client calls itself in HELO/EHLO, decided at the HELO stage. Rules, each
// one switchable, in this order (the first that fails names itself in the reply and log):
//   not_ours      our own host name, one of our names or addresses ("HELO is me" forgery),
//                 unless the client is one of our own addresses;
//   pattern       junk names: globs, or regexes written as /.../ (case-insensitive);
//   syntax        an FQDN (two labels or more, letters, digits, '-', '_', a non-numeric
//                 top label) or an address literal, [192.0.2.1] or [IPv6:2001:db8::1];
//   literal_match an address literal is the client's own address;
//   resolve       (off by default) the name has an A or AAAA record; DNS trouble defers.
// Seed 000's Exim rule ^(friend|localhost|$primary_hostname|$interface_address)$ is covered
// by the default patterns and not_ours.
//
//   [checks.helo]
//   enabled = true
//   patterns = ["localhost", "localhost.*", "*.localdomain", "friend", "/^[0-9.]+$/"]
//   resolve = true
#include "checks/helo_name.hpp"
#include "policy/check_registry.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

namespace backstop::checks {

namespace {

using policy::Stage;

struct HeloRules {
  bool not_ours = true;
  bool syntax = true;
  bool literal_match = true;
  bool resolve = false;
  std::vector<HeloPattern> patterns;
};

mail::Verdict refuse(std::string_view rule, const std::string& helo, const std::string& detail) {
  return mail::Verdict::decide(mail::Decision::Reject,
                               {550, "5.7.1",
                                "<" + printable(helo) + ">: Helo command rejected: " + detail +
                                    " (helo." + std::string(rule) + ")"},
                               "helo", std::string(rule) + ": " + detail);
}

asio::awaitable<void> warm_up(dns::Resolver* resolver, std::string name) {
  co_await resolver->addresses(std::move(name));
}

class Helo final : public policy::Check {
public:
  Helo(HeloRules rules, policy::CheckServices services)
      : rules_(std::move(rules)), services_(std::move(services)) {}

  std::string_view name() const override { return "helo"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Helo; }
  void prefetch(Stage stage, const policy::SessionContext& context) const override {
    if (stage != Stage::Helo || !rules_.resolve) {
      return;
    }
    const HeloName helo = HeloName::parse(context.helo);
    if (helo.kind == HeloName::Kind::Name) {
      asio::co_spawn(context.executor, warm_up(services_.resolver, helo.name), asio::detached);
    }
  }
  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    const HeloName helo = HeloName::parse(context.helo);
    if (auto refused = static_rules(helo, context)) {
      co_return std::move(*refused);
    }
    if (rules_.resolve && helo.kind == HeloName::Kind::Name) {
      co_return co_await resolves(helo, context.helo);
    }
    co_return mail::Verdict::accept("helo");
  }

private:
  bool ours(const HeloName& helo) const {
    if (helo.kind == HeloName::Kind::Name || helo.kind == HeloName::Kind::Invalid) {
      return helo.name == mail::normalize_domain(services_.hostname) ||
             (services_.is_local_name && services_.is_local_name(helo.name));
    }
    return services_.is_local_address && services_.is_local_address(helo.address.to_string());
  }
  bool client_is_us(const policy::SessionContext& context) const {
    return services_.is_local_address &&
           services_.is_local_address(unmapped(context.client.address).to_string());
  }

  std::optional<mail::Verdict> static_rules(const HeloName& helo,
                                            const policy::SessionContext& context) const {
    const std::string& raw = context.helo;
    if (rules_.not_ours && ours(helo) && !client_is_us(context)) {
      return refuse("not_ours", raw, "that is my own name or address");
    }
    for (const auto& pattern : rules_.patterns) {
      if (pattern.matches(helo.name)) {
        return refuse("pattern", raw, "not a real host name (matches " + pattern.text() + ")");
      }
    }
    if (rules_.syntax &&
        (helo.kind == HeloName::Kind::Invalid || helo.kind == HeloName::Kind::BareAddress)) {
      return refuse("syntax", raw,
                    helo.kind == HeloName::Kind::BareAddress
                        ? "an address must be written as a literal, [192.0.2.1]"
                        : "not a fully qualified host name or address literal");
    }
    if (rules_.literal_match && helo.kind == HeloName::Kind::Literal &&
        unmapped(helo.address) != unmapped(context.client.address)) {
      return refuse("literal_match", raw,
                    "address literal is not your address [" + context.client.ip + "]");
    }
    return std::nullopt;
  }

  asio::awaitable<mail::Verdict> resolves(const HeloName& helo, const std::string& raw) const {
    const dns::AddressAnswer answer = co_await services_.resolver->addresses(helo.name);
    if (answer.status == dns::Status::Found) {
      co_return mail::Verdict::accept("helo");
    }
    if (answer.status == dns::Status::TempFail) {
      co_return mail::Verdict::decide(
          mail::Decision::Defer,
          {450, "4.7.1",
           "<" + printable(raw) + ">: Helo command rejected: cannot check the name now"},
          "helo", "resolve: " + (answer.error.empty() ? helo.name : answer.error));
    }
    co_return refuse("resolve", raw, "host name has no address");
  }

  HeloRules rules_;
  policy::CheckServices services_; // a copy: its pointers outlive us
};

std::unique_ptr<policy::Check> make_helo(policy::Settings& settings,
                                         const policy::CheckServices* services) {
  bool enabled = false;
  HeloRules rules;
  std::vector<std::string> patterns{"localhost", "localhost.*", "*.localdomain", "friend"};
  settings.boolean("enabled", enabled);
  settings.boolean("not_ours", rules.not_ours);
  settings.boolean("syntax", rules.syntax);
  settings.boolean("literal_match", rules.literal_match);
  settings.boolean("resolve", rules.resolve);
  settings.strings("patterns", patterns);
  for (const auto& text : patterns) {
    std::string error;
    if (auto pattern = HeloPattern::compile(text, error)) {
      rules.patterns.push_back(std::move(*pattern));
    } else {
      settings.error("patterns", "\"" + text + "\": " + error);
    }
  }
  if (services == nullptr || !enabled) {
    return nullptr;
  }
  if (rules.resolve && services->resolver == nullptr) { // a wiring fault: say so
    if (services->log) {
      services->log->error("checks.helo: no DNS resolver for checks; resolve is off");
    }
    rules.resolve = false;
  }
  return std::make_unique<Helo>(std::move(rules), *services);
}

const policy::RegisterCheck registration{{"helo", 150, &make_helo}};

} // namespace

} // namespace backstop::checks
