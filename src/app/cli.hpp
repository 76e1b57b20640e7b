// cli: the `backstop` command line (serve, check-config, queue ...), parsed with CLI11.
#pragma once

namespace backstop::app {

int run_cli(int argc, char** argv);

} // namespace backstop::app
