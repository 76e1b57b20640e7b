// spf_policy: what the SPF check does with each result, for all recipient domains and per
// domain ([checks.spf] and [checks.spf.domain."example.org"]): accept, reject or defer, and
// a score added when it accepts.
#pragma once

#include "policy/check_settings.hpp"
#include "spf/result.hpp"

#include <array>
#include <map>
#include <string>

namespace backstop::checks {

enum class SpfAction { Accept, Reject, Defer };

struct SpfResultPolicy {
  SpfAction action = SpfAction::Accept;
  double score = 0;
};

class SpfPolicy {
public:
  // fail rejects, temperror defers, softfail scores 1; the rest (permerror too: a sender's
  // broken record is no proof of forgery) accepts.
  SpfPolicy();
  // Reads <result> = "accept" | "reject" | "defer" and <result>_score, over these defaults.
  void read(policy::Settings& settings);
  const SpfResultPolicy& operator[](spf::Result result) const {
    return by_result_[static_cast<std::size_t>(result)];
  }

private:
  std::array<SpfResultPolicy, 7> by_result_;
};

struct SpfPolicies {
  SpfPolicy all;
  std::map<std::string, SpfPolicy, std::less<>> domains; // by recipient domain, lower case

  const SpfPolicy& for_domain(std::string_view domain) const;
};

// [checks.spf] and each [checks.spf.domain."<d>"], a domain table starting from the
// section's own choices.
SpfPolicies read_spf_policies(policy::Settings& settings);

} // namespace backstop::checks
