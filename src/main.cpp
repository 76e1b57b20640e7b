// main: hands the command line to app::run_cli; nothing else lives here.
#include "app/cli.hpp"

int main(int argc, char** argv) { return backstop::app::run_cli(argc, argv); }
