#include "process/reaper.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/loop_barrier.hpp"

namespace drove::process {
namespace {

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

bool pidfds_supported() {
  const int fd = open_pidfd(::getpid());
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

Reaper::Reaper(uv_loop_t* loop, Scope scope) : loop_(loop), scope_(scope) {
  if (scope_ == Scope::watched_only) pidfds_ = pidfds_supported();
  if (!pidfds_) start_sigchld();
}

void Reaper::start_sigchld() {
  sigchld_ = UvHandle<uv_signal_t>::make();
  uv_signal_init(loop_, sigchld_.get());
  sigchld_->data = this;
  uv_signal_start(
      sigchld_.get(),
      [](uv_signal_t* handle, int) {
        loop_barrier("SIGCHLD reaper", [handle] {
          if (auto* self = owner_of<Reaper>(handle)) self->reap_now();
        });
      },
      SIGCHLD);
  // Keep the loop's liveness to the handles that do work; an idle reaper must not keep it up.
  uv_unref(sigchld_.handle());
}

void Reaper::watch(pid_t pid, ExitCallback on_exit) {
  watched_.erase(pid);
  Watch& w = watched_[pid];
  w.on_exit = std::move(on_exit);
  if (!pidfds_) return;
  w.pidfd = UniqueFd(open_pidfd(pid));
  if (!w.pidfd) {
    // The pid is our unreaped child, so this only fails for want of fds: fall back to SIGCHLD.
    if (!sigchld_) start_sigchld();
    return;
  }
  poll_pidfd(w, pid, /*ours=*/true);
}

void Reaper::poll_pidfd(Watch& w, pid_t pid, bool ours) {
  w.poll = UvHandle<uv_poll_t>::make();
  uv_poll_init(loop_, w.poll.get(), w.pidfd.get());
  // unordered_map nodes do not move: the watch itself is the handle's owner until it is erased
  // (closing the handle clears `data`).
  w.owner = this;
  w.pid = pid;
  w.ours = ours;
  w.poll->data = &w;
  uv_poll_start(w.poll.get(), UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* watch = owner_of<Watch>(handle);
    if (!watch) return;
    loop_barrier("pidfd reaper", [self = watch->owner, pid = watch->pid, ours = watch->ours] {
      if (ours) {
        self->reap_one(pid);
        return;
      }
      self->exited(pid, ExitStatus{});  // not our child: its status went to whoever reaped it
    });
  });
  uv_unref(w.poll.handle());
}

void Reaper::watch_without_parent(pid_t pid, int pidfd) {
  auto it = watched_.find(pid);
  if (it == watched_.end() || pidfd < 0 || it->second.poll) return;
  it->second.pidfd = UniqueFd(::fcntl(pidfd, F_DUPFD_CLOEXEC, 0));
  if (!it->second.pidfd) return;
  poll_pidfd(it->second, pid, /*ours=*/false);
}

void Reaper::unwatch(pid_t pid) { watched_.erase(pid); }

bool Reaper::reap_one(pid_t pid) {
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got != pid) return false;
  exited(pid, ExitStatus::from_wait_status(status));
  return true;
}

void Reaper::deliver(pid_t pid, int wait_status) { exited(pid, ExitStatus::from_wait_status(wait_status)); }

void Reaper::exited(pid_t pid, ExitStatus status) {
  auto it = watched_.find(pid);
  if (it == watched_.end()) return;
  ExitCallback callback = std::move(it->second.on_exit);
  unwatch(pid);
  callback(status);
}

void Reaper::reap_now() {
  if (scope_ == Scope::watched_only) {
    // Copy: callbacks may watch or unwatch.
    std::vector<pid_t> pids;
    pids.reserve(watched_.size());
    for (const auto& [pid, watch] : watched_) pids.push_back(pid);
    for (pid_t pid : pids) reap_one(pid);
    return;
  }
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;
    if (pid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: nothing left
    }
    auto it = watched_.find(pid);
    if (it == watched_.end()) continue;
    ExitCallback callback = std::move(it->second.on_exit);
    watched_.erase(it);
    callback(ExitStatus::from_wait_status(status));
  }
}

void Reaper::become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

}  // namespace drove::process
