// spf_policy: reading the per-result choices of [checks.spf] and its domain tables.
#include "checks/spf_policy.hpp"

#include "mail/address.hpp"

namespace backstop::checks {

namespace {

constexpr std::array<spf::Result, 7> results{
    spf::Result::None,     spf::Result::Neutral,   spf::Result::Pass,     spf::Result::Fail,
    spf::Result::SoftFail, spf::Result::TempError, spf::Result::PermError};

} // namespace

SpfPolicy::SpfPolicy() {
  by_result_[static_cast<std::size_t>(spf::Result::Fail)].action = SpfAction::Reject;
  by_result_[static_cast<std::size_t>(spf::Result::TempError)].action = SpfAction::Defer;
  by_result_[static_cast<std::size_t>(spf::Result::SoftFail)].score = 1.0;
}

void SpfPolicy::read(policy::Settings& settings) {
  for (const auto result : results) {
    auto& mine = by_result_[static_cast<std::size_t>(result)];
    const std::string name(spf::result_name(result));
    if (result != spf::Result::Pass) { // a pass is never refused
      const auto chosen = settings.choice(name.c_str(), {"accept", "reject", "defer"},
                                          static_cast<std::size_t>(mine.action));
      mine.action = static_cast<SpfAction>(chosen);
    }
    const std::string score_key = name + "_score";
    settings.number(score_key.c_str(), mine.score, -1000.0, 1000.0);
  }
}

const SpfPolicy& SpfPolicies::for_domain(std::string_view domain) const {
  const auto it = domains.find(mail::normalize_domain(domain));
  return it == domains.end() ? all : it->second;
}

SpfPolicies read_spf_policies(policy::Settings& settings) {
  SpfPolicies policies;
  policies.all.read(settings);
  for (const auto& [domain, table] : settings.tables("domain")) {
    SpfPolicy policy = policies.all;
    policy.read(*table);
    policies.domains.emplace(mail::normalize_domain(domain), policy);
  }
  return policies;
}

} // namespace backstop::checks
