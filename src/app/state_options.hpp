// state_options: [state] as the options state::open_store takes, for the server and the CLI.
#pragma once

#include "app/config.hpp"
#include "state/store.hpp"

namespace backstop::app {

inline state::StoreOptions store_options(const StateConfig& config, bool read_only = false) {
  state::StoreOptions o;
  o.backend = config.backend;
  o.path = config.path;
  o.read_only = read_only;
  o.url = config.url;
  o.password = config.password;
  o.key_prefix = config.key_prefix;
  o.timeout = config.timeout;
  return o;
}

} // namespace backstop::app
