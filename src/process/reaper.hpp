// Reaper: the one place that waits for children, on the event loop.
//
// SIGCHLD (delivered through libuv's signal pipe) triggers waitpid(-1, WNOHANG) until no child
// is left to reap, and each exit goes to the callback registered for that pid. Because drove
// only signals a child it has not reaped yet, and an unreaped child's pid cannot be recycled,
// signalling by pid is safe for direct children (the "pidfd or equivalent" guarantee). Exits of
// pids nobody watches (orphaned grandchildren, when the daemon is a subreaper) are just reaped.
//
// Never mix with uv_spawn in the same process: libuv's own child handling would race ours.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <unordered_map>

#include "base/uv_handle.hpp"
#include "process/exit_status.hpp"

namespace drove::process {

class Reaper {
 public:
  using ExitCallback = std::function<void(ExitStatus)>;

  explicit Reaper(uv_loop_t* loop);
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Calls `on_exit` once when `pid` (a child of this process) exits.
  void watch(pid_t pid, ExitCallback on_exit);
  void unwatch(pid_t pid);
  [[nodiscard]] bool watching(pid_t pid) const { return watched_.count(pid) != 0; }

  // Reaps whatever has exited now (also called on SIGCHLD).
  void reap_now();

  // Orphaned descendants of our children are re-parented to us instead of init, so the whole
  // tree of an app stays visible and signalable (prctl PR_SET_CHILD_SUBREAPER).
  static void become_subreaper();

 private:
  UvHandle<uv_signal_t> sigchld_;
  std::unordered_map<pid_t, ExitCallback> watched_;
};

}  // namespace drove::process
