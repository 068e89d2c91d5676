// The daemon: one process per $DROVE_HOME that owns every managed app. It holds an exclusive
// lock on drove.pid for its whole life (so two can never run), listens on drove.sock, and runs
// everything on one libuv loop. SIGTERM/SIGINT (or `drove kill`) stop every app gracefully,
// then it exits 0. Under systemd (NOTIFY_SOCKET set, a Type=notify unit from `drove startup`)
// it speaks sd_notify: READY=1 once it serves (after resurrect), STATUS=, WATCHDOG=1, STOPPING=1.
#pragma once

#include "base/home_paths.hpp"

namespace drove::daemon {

struct DaemonOptions {
  HomeLayout home;
  bool background = false;  // started by a CLI: detached, output already goes to drove.log
  // Started by a service manager (`drove startup`): start the saved process list once the
  // socket listens, as `drove resurrect` does, and only then tell systemd READY=1.
  bool resurrect = false;
};

// Runs until asked to stop; returns the process exit code.
int run_daemon(const DaemonOptions& options);

}  // namespace drove::daemon
