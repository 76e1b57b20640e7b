// offender_json: listings, offenses and their grouping by address.
#include "admin/offender_json.hpp"

#include <map>

namespace backstop::admin {

using nlohmann::json;

json listing_json(const state::Listing& l) {
  return json{{"address", l.address},
              {"listed_at", l.listed_at},
              {"expires_at", l.expires_at},
              {"reason", l.reason},
              {"manual", l.manual}};
}

json offense_json(const state::Offense& o) {
  return json{{"address", o.address},
              {"at", o.at},
              {"kind", state::to_string(o.kind)},
              {"listener", o.listener},
              {"helo", o.helo},
              {"sender_domain", o.sender_domain},
              {"recipient_domain", o.recipient_domain},
              {"ptr", o.ptr},
              {"detail", o.detail},
              {"counts", o.counts}};
}

state::Result<std::vector<AddressEvidence>> gather_evidence(state::OffenderStore& store,
                                                            const std::string& address,
                                                            std::int64_t since, std::int64_t now) {
  auto offenses = store.offenses(address, since, static_cast<std::size_t>(-1));
  if (!offenses) {
    return offenses.error();
  }
  std::vector<AddressEvidence> all;
  std::map<std::string, std::size_t> index;
  if (!address.empty()) {
    all.push_back({address, {}, std::nullopt});
    index[address] = 0;
  }
  for (auto& o : offenses.value()) {
    auto [it, added] = index.try_emplace(o.address, all.size());
    if (added) {
      all.push_back({o.address, {}, std::nullopt});
    }
    all[it->second].offenses.push_back(std::move(o));
  }
  for (auto& e : all) {
    auto listing = store.listing(e.address, now);
    if (!listing) {
      return listing.error();
    }
    e.listing = listing.value();
  }
  return all;
}

json evidence_json(const std::vector<AddressEvidence>& all) {
  json out = json::array();
  for (const auto& e : all) {
    json offenses = json::array();
    for (const auto& o : e.offenses) {
      offenses.push_back(offense_json(o));
    }
    out.push_back(json{{"address", e.address},
                       {"listing", e.listing ? listing_json(*e.listing) : json(nullptr)},
                       {"offenses", offenses}});
  }
  return json{{"offenders", out}};
}

json listings_json(const std::vector<state::Listing>& listings) {
  json out = json::array();
  for (const auto& l : listings) {
    out.push_back(listing_json(l));
  }
  return json{{"listings", out}};
}

} // namespace backstop::admin
