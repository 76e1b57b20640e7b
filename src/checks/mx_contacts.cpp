// mx_contacts: every session of an smtp listener records its client's contact with this MX
// host at connect, as evidence for the skipped-primary check (here or on another backstop
// tier sharing the store) and for `backstop contacts`. It always accepts and never waits:
// the record is posted to the store's thread (state/async_contact_store.hpp). It runs
// before the allowlist (order -100), so allowlisted clients are recorded too.
//
//   [checks.mx_contacts]
//   host = "mx2.example.org"   # which MX name this host stands for; default: our hostname
#include "mail/address.hpp"
#include "policy/check_registry.hpp"
#include "state/async_contact_store.hpp"

namespace backstop::checks {

namespace {

using policy::Stage;

class MxContacts final : public policy::Check {
public:
  MxContacts(std::string host, const policy::CheckServices& services)
      : host_(std::move(host)), store_(*services.contacts), clock_(*services.clock) {}

  std::string_view name() const override { return "mx_contacts"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Connect; }

  asio::awaitable<mail::Verdict> check(Stage,
                                       const policy::SessionContext& context) const override {
    store_.post_record(
        {context.client.ip, host_, "listener smtp " + context.client.listener, clock_.now_unix()});
    co_return mail::Verdict::accept("mx_contacts", "contact with " + host_ + " recorded");
  }

private:
  std::string host_;
  state::AsyncContactStore& store_;
  const mail::Clock& clock_;
};

std::unique_ptr<policy::Check> make_mx_contacts(policy::Settings& settings,
                                                const policy::CheckServices* services) {
  bool enabled = true;
  std::string host;
  settings.boolean("enabled", enabled);
  settings.string("host", host);
  if (!enabled || services == nullptr || services->contacts == nullptr ||
      services->clock == nullptr) {
    return nullptr; // no store (a tool's pipeline): nothing to record into
  }
  host = mail::normalize_domain(host.empty() ? services->hostname : host);
  return std::make_unique<MxContacts>(host, *services);
}

const policy::RegisterCheck registration{{"mx_contacts", -100, &make_mx_contacts}};

} // namespace

} // namespace backstop::checks
