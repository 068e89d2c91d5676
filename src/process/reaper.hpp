// Reaper: the one place that waits for children, on the event loop.
//
// Two scopes:
// - Scope::all_children, the daemon's: SIGCHLD (delivered through libuv's signal pipe) triggers
//   waitpid(-1, WNOHANG) until no child is left to reap, and each exit goes to the callback
//   registered for that pid. Exits of pids nobody watches (orphaned grandchildren, when the
//   daemon is a subreaper) are just reaped.
// - Scope::watched_only, the library's (drove::EventLoop): a program that embeds drove keeps
//   its own children. Each watched child gets a pidfd polled on the loop, and only that pid is
//   waited for (waitpid(pid)); no signal handler is installed. Where pidfd_open is missing
//   (Linux < 5.3), SIGCHLD triggers waitpid(pid, WNOHANG) for each watched pid instead.
// Because drove only signals a child it has not reaped yet, and an unreaped child's pid cannot
// be recycled, signalling by pid is safe for direct children (the "pidfd or equivalent"
// guarantee).
//
// Scope::all_children must not share a process with uv_spawn: libuv's own child handling would
// race it. Scope::watched_only can (libuv also waits per pid).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <unordered_map>

#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "process/exit_status.hpp"

namespace drove::process {

class Reaper {
 public:
  using ExitCallback = std::function<void(ExitStatus)>;
  enum class Scope { all_children, watched_only };

  explicit Reaper(uv_loop_t* loop, Scope scope = Scope::all_children);
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Calls `on_exit` once when `pid` (a child of this process) exits.
  void watch(pid_t pid, ExitCallback on_exit);
  void unwatch(pid_t pid);
  [[nodiscard]] bool watching(pid_t pid) const { return watched_.count(pid) != 0; }

  // An exit reaped by someone else: the keeper, parent of the apps a previous daemon started
  // (keeper/keeper.hpp). Runs the watch's callback as a reap would.
  void deliver(pid_t pid, int wait_status);

  // A watched pid that is not our child, whose parent will no longer report its exit (the
  // keeper died): its pidfd (duplicated here) turns readable when it ends, and the watch's
  // callback gets ExitStatus::unknown(). No-op for a pid not watched.
  void watch_without_parent(pid_t pid, int pidfd);

  // Reaps whatever has exited now (also called on SIGCHLD).
  void reap_now();

  // Orphaned descendants of our children are re-parented to us instead of init, so the whole
  // tree of an app stays visible and signalable (prctl PR_SET_CHILD_SUBREAPER).
  static void become_subreaper();

 private:
  struct Watch {
    ExitCallback on_exit;
    // watched_only with pidfds: the pidfd, readable once the child has exited, and its poll
    // handle (declared after, so closed before the fd it polls).
    UniqueFd pidfd;
    UvHandle<uv_poll_t> poll;
    Reaper* owner = nullptr;
    pid_t pid = 0;
    bool ours = true;  // a child of ours (reaped here), or one watch_without_parent() follows
  };
  void start_sigchld();
  void poll_pidfd(Watch& w, pid_t pid, bool ours);
  // waitpid(pid, WNOHANG); on an exit, removes the watch and runs its callback. True if reaped.
  bool reap_one(pid_t pid);
  // Removes the watch of `pid`, if any, and runs its callback with `status`.
  void exited(pid_t pid, ExitStatus status);

  uv_loop_t* loop_;
  Scope scope_;
  bool pidfds_ = false;  // watched_only: pidfd_open works here
  UvHandle<uv_signal_t> sigchld_;
  std::unordered_map<pid_t, Watch> watched_;
};

}  // namespace drove::process
