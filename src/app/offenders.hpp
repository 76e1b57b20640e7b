// offenders: the [offenders] configuration as the offender store's rules and allowlist,
// and the words backstop logs when an offense lists an address. Shared by the server
// (serve.cpp) and the CLI (blacklist_command.cpp), so both list by the same rules.
#pragma once

#include "app/config.hpp"
#include "state/offender_allowlist.hpp"
#include "state/offender_store.hpp"

#include <string>

namespace backstop::app {

state::BlacklistRules blacklist_rules(const OffendersConfig& offenders);
// [offenders] allow_networks and allow_ptr_suffixes, and the client networks of
// [checks.allowlist] (allowlists always win).
state::OffenderAllowlist offender_allowlist(const Config& config);
// "blacklisted 192.0.2.7 for 7 d: 5 offenses within 1 d"; "" when the outcome listed nothing
// new.
std::string new_listing_words(const state::RecordOutcome& outcome);

} // namespace backstop::app
