// queue_command: `backstop queue ...`: asks the running server over its control socket, or,
// when no server runs, opens the spool itself. Prints mailq-style text or JSON.
#pragma once

#include "app/config.hpp"

#include <string>

namespace backstop::app {

struct QueueCommand {
  std::string command;  // list, show, delete, hold, release, flush
  std::string argument; // queue id, or domain for flush
  bool json = false;
};

int run_queue_command(const Config& config, const QueueCommand& command);

} // namespace backstop::app
