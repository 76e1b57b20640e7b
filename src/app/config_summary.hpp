// config_summary: what the running server was configured with, for GET /api/config. Built
// from an allowlist of fields, so a secret (admin.token, a password, a DNSBL key inside a
// check's section) never appears, nor does a field added later until someone adds it here:
// of [checks.<name>] only the names of the sections are shown.
#pragma once

#include "app/config.hpp"

#include <nlohmann/json.hpp>

namespace backstop::app {

nlohmann::json config_summary(const Config& config);

} // namespace backstop::app
