// sfroute: the command-line face of the sfroute library (docs/cli.md). All of
// it is sfroute::cli::Run (cli.h), in the library sfroute_cli_lib.
#include "cli.h"

int main(int argc, char** argv) { return sfroute::cli::Run(argc, argv); }
