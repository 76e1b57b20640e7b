// cli: placeholder until the subcommands land.
#include "app/cli.hpp"

namespace backstop::app {

int run_cli(int, char**) { return 0; }

} // namespace backstop::app
