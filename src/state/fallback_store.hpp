// fallback_store: the Redis backend as the server uses it: a Store over the Redis store and
// the local SQLite store ([state] path). While Redis fails (unavailable, timeout) every
// concern answers from the local store; verification answers, offender events, listings and
// MX contacts learned meanwhile are journaled (state/fallback_switch.hpp) and written through
// to Redis once it answers again. A greylist attempt and a primary status change are kept
// locally only: the local greylist answer (a triplet never seen here is deferred) is safe,
// and every host's monitor records its own changes. Chosen by open_store when backend is
// "redis" and options.fallback.enabled.
#pragma once

#include "state/store.hpp"

#include <chrono>
#include <memory>

namespace backstop::state {

std::unique_ptr<Store> make_fallback_store(std::unique_ptr<Store> remote,
                                           std::unique_ptr<Store> local, FallbackOptions options,
                                           std::chrono::milliseconds replay_budget);

} // namespace backstop::state
