#include "process/reaper.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>

#include "base/loop_barrier.hpp"

namespace drove::process {

Reaper::Reaper(uv_loop_t* loop) : sigchld_(UvHandle<uv_signal_t>::make()) {
  uv_signal_init(loop, sigchld_.get());
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

void Reaper::watch(pid_t pid, ExitCallback on_exit) { watched_[pid] = std::move(on_exit); }

void Reaper::unwatch(pid_t pid) { watched_.erase(pid); }

void Reaper::reap_now() {
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
    ExitCallback callback = std::move(it->second);
    watched_.erase(it);
    callback(ExitStatus::from_wait_status(status));
  }
}

void Reaper::become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

}  // namespace drove::process
