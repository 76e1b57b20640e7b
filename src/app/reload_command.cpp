// reload_command: one control request, its answer on stdout or stderr.
#include "app/reload_command.hpp"

#include "admin/control_socket.hpp"

#include <iostream>

namespace backstop::app {

int run_reload_command(const Config& config) {
  auto answer = admin::control_request(config.control_socket(), {{"command", "reload"}});
  if (!answer) {
    std::cerr << "backstop reload: no server answers on " << config.control_socket().string()
              << "\n";
    return 1;
  }
  if (!answer->value("ok", false)) {
    std::cerr << "backstop reload: " << answer->value("error", "failed")
              << " (the running configuration stays; the log has every error)\n";
    return 1;
  }
  std::cout << "reloaded (the log names what needs a restart)\n";
  return 0;
}

} // namespace backstop::app
