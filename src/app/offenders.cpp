// offenders: config to rules; the allowlist from every place an operator may write it
// ([offenders], [checks.allowlist], [peers]).
#include "app/offenders.hpp"

namespace backstop::app {

state::BlacklistRules blacklist_rules(const OffendersConfig& offenders) {
  state::BlacklistRules rules;
  rules.threshold = offenders.threshold;
  rules.window = offenders.window.count();
  rules.listing = offenders.listing.count();
  rules.keep_offenses = offenders.keep_offenses.count();
  return rules;
}

namespace {

// [checks.allowlist] networks, unless that check is off. Validated when the file was read.
std::vector<std::string> allowlist_check_networks(const Config& config) {
  std::vector<std::string> out;
  const auto* table = config.checks.sections["allowlist"].as_table();
  if (table == nullptr || (*table)["mode"].value_or(std::string()) == "off") {
    return out;
  }
  if (const auto* networks = (*table)["networks"].as_array()) {
    for (const auto& node : *networks) {
      if (auto text = node.value<std::string>()) {
        out.push_back(*text);
      }
    }
  }
  return out;
}

} // namespace

state::OffenderAllowlist offender_allowlist(const Config& config) {
  auto networks = config.offenders.allow_networks;
  for (auto& n : allowlist_check_networks(config)) {
    networks.push_back(std::move(n));
  }
  for (const auto& peer : config.peers.addresses) { // relayed mail: never an offender
    networks.push_back(peer);
  }
  std::vector<std::string> errors; // reported when the configuration was read
  return state::OffenderAllowlist(networks, config.offenders.allow_ptr_suffixes, errors);
}

std::string new_listing_words(const state::RecordOutcome& outcome) {
  if (!outcome.newly_listed || !outcome.listed) {
    return {};
  }
  const auto& l = *outcome.listed;
  const std::string span =
      l.expires_at == 0 ? "ever" : state::seconds_in_words(l.expires_at - l.listed_at);
  return "blacklisted " + l.address + " for " + span + ": " + l.reason;
}

} // namespace backstop::app
