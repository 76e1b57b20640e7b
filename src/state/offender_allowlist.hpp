// offender_allowlist: clients that are never listed and never refused by the blacklist,
// whatever they did: networks, and the PTR suffixes of large senders (a big provider's
// outbound host that hit a trap someone pointed an MX at, seed 000 message 12). A PTR name
// counts only forward-confirmed (it resolves back to the client), as the reverse_dns check
// records it; anyone can write any PTR name for their own addresses.
#pragma once

#include "mail/cidr.hpp"
#include "state/offender_store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace backstop::state {

class OffenderAllowlist {
public:
  OffenderAllowlist() = default;
  // Appends to errors a message for each network that does not parse (and skips it).
  OffenderAllowlist(const std::vector<std::string>& networks,
                    const std::vector<std::string>& ptr_suffixes, std::vector<std::string>& errors);

  // What covers the client, for the log ("network 192.0.2.0/24", "PTR name
  // out1.mail.example ends in mail.example"); "" when nothing does. confirmed_ptr is "" when
  // the client has no forward-confirmed PTR name.
  std::string match(std::string_view address, std::string_view confirmed_ptr) const;
  bool has_ptr_suffixes() const { return !suffixes_.empty(); }
  bool empty() const { return networks_.empty() && suffixes_.empty(); }

private:
  std::vector<mail::Cidr> networks_;
  std::vector<std::string> network_texts_;
  std::vector<std::string> suffixes_; // lower case, no leading or trailing dot
};

// An allowlisted client's offense is kept as evidence that never counts, so it never lists;
// the detail says why. Others are returned as they are.
Offense exempted(Offense offense, const OffenderAllowlist& allowlist);

// True when name is suffix or ends in "." + suffix (both lower case, without trailing dot).
bool name_has_suffix(std::string_view name, std::string_view suffix);

} // namespace backstop::state
