// verify_command: `backstop verify ADDRESS` (what the cache knows, then a live callout to the
// domain's primary) and `backstop cache list|flush`. Flush goes through the running
// server's control socket, so its in-memory cache forgets too; without a server it edits
// the state store directly.
#pragma once

#include "app/config.hpp"

#include <string>

namespace backstop::app {

struct VerifyCommand {
  std::string address;
  bool json = false;
  bool callout = true; // --cached-only turns it off
};

struct CacheCommand {
  std::string command; // list, flush
  std::string pattern; // flush: "" = all, "@domain", or one address
  bool json = false;
};

int run_verify_command(const Config& config, const VerifyCommand& command);
int run_cache_command(const Config& config, const CacheCommand& command);

} // namespace backstop::app
