// reload_diff: what a reload (SIGHUP, `backstop reload`) does with each option. Every option
// is either taken over live or named as needing a restart, so that none is silently ignored:
// the walk below lists each one in one of the two kinds (tests/app/reload_diff_test.cpp
// checks that every key of docs/configuration.md is in it).
#pragma once

#include "app/config.hpp"

#include <string>
#include <vector>

namespace backstop::app {

struct ReloadPlan {
  std::vector<std::string> live;    // changed and taken over (keys as written: "smtp.listen")
  std::vector<std::string> restart; // changed, kept as running until a restart
};

// Copies into running every live option whose value next changes (and nothing else), and
// names each changed option in the plan. The caller then applies running's live parts.
ReloadPlan take_live_options(Config& running, const Config& next);

// Keys whose new value needs a restart.
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

} // namespace backstop::app
