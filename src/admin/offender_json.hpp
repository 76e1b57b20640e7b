// offender_json: the blacklist and the offenders' evidence as JSON, one implementation for
// `backstop blacklist list --json`, `backstop offenders --json` and GET /api/blacklist,
// /api/offenders. Reads the offender store directly (its calls block: never on an event loop).
#pragma once

#include "state/offender_store.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace backstop::admin {

nlohmann::json listing_json(const state::Listing& listing);
nlohmann::json offense_json(const state::Offense& offense);

// One address's offenses (newest first) and its listing, if any.
struct AddressEvidence {
  std::string address;
  std::vector<state::Offense> offenses;
  std::optional<state::Listing> listing;
};

// Offenses since `since` (unix seconds; 0 = every one kept) of address ("" = of every
// address), grouped by address in the order of each one's newest offense.
state::Result<std::vector<AddressEvidence>> gather_evidence(state::OffenderStore& store,
                                                            const std::string& address,
                                                            std::int64_t since, std::int64_t now);
// {"offenders": [{"address", "listing", "offenses": [...]}, ...]}
nlohmann::json evidence_json(const std::vector<AddressEvidence>& all);
// {"listings": [...]}
nlohmann::json listings_json(const std::vector<state::Listing>& listings);

} // namespace backstop::admin
