// The whole sfroute command line as a function, so that it can run in a
// process other than the `sfroute` binary (tests, a fuzz target).
#ifndef SFROUTE_TOOLS_SFROUTE_CLI_H_
#define SFROUTE_TOOLS_SFROUTE_CLI_H_

namespace sfroute::cli {

// Runs one sfroute command line, argv[0] being the program name (argc may be
// 0), and returns its exit code (docs/cli.md). Results go to std::cout,
// errors and log lines to std::cerr, exactly as the binary prints them.
//
// Never calls exit() or abort() and throws nothing: an exception that escapes
// a command is reported as an INTERNAL error (exit 1). It keeps no state from
// one call to the next, so it may be called any number of times in one
// process (one call at a time: the calls share std::cout and std::cerr).
// It reads $SFROUTE_REDIS and $SFROUTE_CLUSTER like the binary.
int Run(int argc, char** argv);

}  // namespace sfroute::cli

#endif  // SFROUTE_TOOLS_SFROUTE_CLI_H_
