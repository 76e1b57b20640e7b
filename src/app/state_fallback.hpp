// state_fallback: what the server does with the Redis fallback's reports (state/
// fallback_options.hpp): one log line when checks start answering from the local store and
// one when Redis has learned what was journaled meanwhile, the counters, and the
// state_fallback_active gauge's flag.
#pragma once

#include "metrics/counters.hpp"
#include "state/fallback_options.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <spdlog/spdlog.h>

namespace backstop::app {

inline metrics::Counter counter_of(state::FallbackCount what) {
  switch (what) {
  case state::FallbackCount::AnsweredLocally:
    return metrics::Counter::StateFallbackCalls;
  case state::FallbackCount::Journaled:
    return metrics::Counter::StateWritesJournaled;
  case state::FallbackCount::Replayed:
    return metrics::Counter::StateWritesReplayed;
  case state::FallbackCount::Dropped:
    break;
  }
  return metrics::Counter::StateJournalDropped;
}

inline state::FallbackOptions fallback_reports(std::shared_ptr<spdlog::logger> log,
                                               metrics::Counters* counters,
                                               std::atomic<bool>* active,
                                               const std::filesystem::path& local) {
  state::FallbackOptions o;
  o.enabled = true;
  o.switched = [log, active, local = local.string()](bool is_local, const std::string& why) {
    active->store(is_local, std::memory_order_relaxed);
    if (is_local) {
      log->warn("state: redis failed ({}): answering from the local store {}; writes learned "
                "meanwhile are journaled for redis",
                why, local);
    } else {
      log->info("state: redis answers again: {}", why);
    }
  };
  o.count = [counters](state::FallbackCount what, std::uint64_t n) {
    counters->add(counter_of(what), n);
  };
  o.journal_full = [log](std::size_t limit) {
    log->warn("state: the journal for redis is full ({} writes): the oldest are dropped", limit);
  };
  return o;
}

} // namespace backstop::app
