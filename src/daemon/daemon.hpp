// The daemon: one process per $DROVE_HOME that owns every managed app. It holds an exclusive
// lock on drove.pid for its whole life (so two can never run), listens on drove.sock, and runs
// everything on one libuv loop. SIGTERM/SIGINT (or `drove kill`) stop every app gracefully,
// then it exits 0. Under systemd (NOTIFY_SOCKET set, a Type=notify unit from `drove startup`)
// it speaks sd_notify: READY=1 once it serves (after resurrect), STATUS=, WATCHDOG=1, STOPPING=1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/home_paths.hpp"
#include "daemon/stdio_forwarder.hpp"

namespace drove::daemon {

// `drove runtime` (docs/operations.md, "Containers"): the daemon in the foreground as a
// container's entrypoint, usually PID 1. It starts the apps itself (`drove start <args>` run as
// a client of itself, as --resurrect does), writes their output to its stdout/stderr instead of
// log files (unless an app names its own), forwards SIGHUP to them, and ends when they end.
struct RuntimeOptions {
  std::vector<std::string> start_args;  // what follows `drove start`
  LineStyle style = LineStyle::raw;
  // End (status 2) when an app errors (its restarts are exhausted) or when nothing runs any
  // more; off: keep serving the control socket whatever the apps do.
  bool auto_exit = true;
};

// The runtime's exit status: what happened to the apps.
enum RuntimeExit : int {
  kRuntimeStopped = 0,      // stopped on request (SIGTERM/SIGINT, `drove kill`) or every app ended with 0
  kRuntimeStartFailed = 1,  // the apps could not be started (a bad file or script), or drove failed
  kRuntimeAppsFailed = 2,   // an app errored, or the last apps ended with a failure
};

struct DaemonOptions {
  HomeLayout home;
  bool background = false;  // started by a CLI: detached, output already goes to drove.log
  // Started by a service manager (`drove startup`): start the saved process list once the
  // socket listens, as `drove resurrect` does, and only then tell systemd READY=1.
  bool resurrect = false;
  std::optional<RuntimeOptions> runtime;
  // Apps outlive the daemon (keeper/keeper.hpp, docs/architecture.md): a background daemon runs
  // under a keeper unless `no_keeper` (or DROVE_KEEPER=off); a foreground one when `keeper`.
  bool keeper = false;
  bool no_keeper = false;
  int keeper_fd = -1;       // set by the keeper: this daemon's link to it
  std::string check_state;  // only check that this binary can take over that state file
};

// Runs until asked to stop; returns the process exit code.
int run_daemon(const DaemonOptions& options);

}  // namespace drove::daemon
