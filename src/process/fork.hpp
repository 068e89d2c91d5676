// fork() for the daemon's children (apps, bind helpers): every signal is blocked across the
// fork, so no handler of the parent (libuv's signal pipe, the reaper) can run in the child before
// the child has set itself up; the parent's mask is back when this returns.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace drove::process {

// Runs `in_child` in the child, with every signal blocked; it must end the child itself (exec or
// _exit: only async-signal-safe calls). Returns the child's pid, or -1 with errno set.
template <class InChild>
pid_t fork_signals_blocked(InChild&& in_child) {
  sigset_t all_signals, previous_mask;
  sigfillset(&all_signals);
  pthread_sigmask(SIG_SETMASK, &all_signals, &previous_mask);
  const pid_t pid = ::fork();
  if (pid == 0) {
    in_child();
    ::_exit(127);  // in_child must not return; never run the parent's code in the child
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  errno = fork_errno;
  return pid;
}

}  // namespace drove::process
