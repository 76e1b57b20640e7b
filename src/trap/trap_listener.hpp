// trap_listener: one configured listener of a trap kind (or a stale SMTP address), and what
// every trap handler is given by app. The kinds:
//   refuse  nolisting, the fake most-preferred MX: reset at once (seed 004);
//   defer   the fake least-preferred MX: talks up to RCPT, then 4xx (seed 000);
//   tarpit  a byte-by-byte banner and replies, like OpenBSD spamd.
#pragma once

#include "mail/clock.hpp"
#include "metrics/counters.hpp"
#include "trap/conversation.hpp"

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <spdlog/logger.h>
#include <string>
#include <vector>

namespace backstop::smtp {
class ConnectionLimiter;
}
namespace backstop::state {
class AsyncOffenderStore;
}

namespace backstop::trap {

enum class Kind { Smtp, Refuse, Defer, Tarpit };

const char* to_string(Kind kind);

struct TrapListener {
  Kind kind = Kind::Defer;
  std::string label;       // "defer 127.0.0.9:25": the offense's listener
  std::string name;        // the operator's name for it ("nolist"); may be empty
  std::string stale_since; // "2026-01-31" as configured; empty = a current MX address
  // From this unix time on a hit is a StaleMx offense (stale_since plus the grace).
  std::optional<std::int64_t> stale_after;
  // refuse and smtp listeners see no RCPT: a hit counts toward the blacklist only by this
  bool count_hits = false;
  std::chrono::seconds max_duration{60};     // the whole session, then 421 and close
  std::chrono::milliseconds stutter{1000};   // tarpit: the delay before each byte
  std::uint32_t max_bytes_per_second = 4000; // tarpit: of all its connections; 0 = no bound
  std::uint16_t max_commands = 20;           // then 421 and close
};

// What app hands every trap handler (handlers keep a reference); pointers may be null (no store:
// hits are only logged and counted).
struct TrapServices {
  std::string hostname;
  std::vector<asio::io_context*> loops; // the server's loops, by index
  smtp::ConnectionLimiter* limiter = nullptr;
  state::AsyncOffenderStore* offenders = nullptr;
  metrics::Counters* counters = nullptr;
  std::shared_ptr<spdlog::logger> log;
  const mail::Clock* clock = nullptr;
  // The backed-up domains; app replaces them on reload, sessions load them per command.
  std::atomic<std::shared_ptr<const Domains>> our_domains;
};

} // namespace backstop::trap
