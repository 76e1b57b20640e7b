// heartbeat_command: `backstop heartbeat --to HOST:PORT --domain D`, run on the primary's
// host by cron or a systemd timer (contrib/backstop-heartbeat.timer): EHLO, ETRN D, QUIT to
// the backup MX, whose monitor takes an allowed ETRN as proof that the primary is alive
// ([monitor] heartbeat_window). Every step has a deadline; the exit code is 0 only when the
// ETRN was answered 250, 251 or 253.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace backstop::app {

struct HeartbeatCommand {
  std::string to;                   // "mx2.example.org:25", "[2001:db8::25]:25"
  std::vector<std::string> domains; // one ETRN each
  std::string helo;                 // empty: this host's name
  std::chrono::seconds timeout{30}; // the whole conversation
};

int run_heartbeat_command(const HeartbeatCommand& command);

} // namespace backstop::app
