// early_talker: a client that sends before the banner is not an SMTP client that waits for
// the greeting as RFC 5321 4.3.1 asks; bots that blast their commands do. The session notices
// it while it holds the banner back for [smtp] greeting_delay (without a delay there is no
// chance to notice, and this check never refuses). Refused at connect with 554 5.5.0 and the
// connection closed, as Postfix's postscreen does with "PREGREET".
//
//   [checks.early_talker]
//   enabled = true   # off by default
#include "policy/check_registry.hpp"

namespace backstop::checks {

namespace {

using policy::Stage;

class EarlyTalker final : public policy::Check {
public:
  std::string_view name() const override { return "early_talker"; }
  bool runs_at(Stage stage) const override { return stage == Stage::Connect; }
  asio::awaitable<mail::Verdict> check(Stage stage,
                                       const policy::SessionContext& context) const override {
    if (!context.client.early_talker) {
      co_return mail::Verdict::accept("early_talker");
    }
    auto v = mail::Verdict::decide(
        mail::Decision::Reject, {554, "5.5.0", "Protocol error: you talked before my greeting"},
        "early_talker", "[" + context.client.ip + "] sent data before the banner");
    v.disconnect = true;
    co_return v;
  }
};

std::unique_ptr<policy::Check> make_early_talker(policy::Settings& settings,
                                                 const policy::CheckServices* services) {
  bool enabled = false; // greeting_delay alone only slows an early talker down
  settings.boolean("enabled", enabled);
  if (services == nullptr || !enabled) {
    return nullptr;
  }
  return std::make_unique<EarlyTalker>();
}

const policy::RegisterCheck registration{{"early_talker", 10, &make_early_talker}};

} // namespace

} // namespace backstop::checks
