// reload_diff: which changed options a SIGHUP cannot apply to a running server, so that the
// log names each one as ignored until restart instead of leaving the operator guessing.
#pragma once

#include "app/config.hpp"

#include <string>
#include <vector>

namespace backstop::app {

// Keys (as written in the file, e.g. "smtp.listen") whose new value needs a restart.
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

} // namespace backstop::app
