// The keeper: a small process above the daemon that makes the apps outlive it
// (docs/architecture.md, "Surviving the daemon").
//
// It starts the daemon as its child and is a child subreaper, so when the daemon dies its apps
// become the keeper's children instead of init's. The daemon sends it a duplicate of every
// descriptor it holds for apps (listening sockets, the read ends of output pipes, its ends of IPC
// channels, stdin pipes) over a SOCK_SEQPACKET socketpair (protocol.hpp); while the keeper holds
// them, the daemon's death closes nothing an app depends on: connections wait in the listening
// sockets' backlog, output waits in the pipes (apps block instead of dying of EPIPE), and Node
// workers never see their channel close.
//
// When the daemon dies of a signal (SIGKILL, SIGSEGV, an abort), the keeper starts it again and
// hands every descriptor back, then the exit statuses of the apps that ended meanwhile, which
// the keeper reaped. The new daemon reads the state its predecessor kept in $DROVE_HOME and takes
// every running app back. An exit with status kHandOverStatus (`drove update`) is started again
// at once, from the binary now on disk. Any other exit of the daemon ends the keeper too: `bye`
// (drove kill), a clean exit, or a failure to start (another daemon already runs).
//
// Small on purpose: no JSON, no configuration, no app I/O; poll(2) on the socketpair and a
// signalfd. SIGTERM, SIGINT, SIGHUP and SIGUSR2 are passed to the daemon.
#pragma once

#include <string>
#include <vector>

namespace drove::keeper {

struct Options {
  std::string exe;                // the program to run as the daemon (re-read at every start)
  std::vector<std::string> argv;  // its arguments, argv[0] included
  // Held (flock) for the keeper's life: a second keeper for the same home exits 0 at once, so
  // a CLI that finds no daemon while this one restarts it does not start a rival.
  std::string lock_path;
  // A daemon that dies before it said `ready` crashed on its way up; after `max_fast_crashes`
  // of those in a row the keeper gives up: it closes everything and exits 1. The first restarts
  // are immediate; then the delay doubles from 100 ms up to 5 s. A daemon killed while serving
  // is started again at once, however often.
  int max_fast_crashes = 10;
};

// Runs the keeper until the daemon ends for good; returns the exit status (the daemon's).
int run(const Options& options);

}  // namespace drove::keeper
