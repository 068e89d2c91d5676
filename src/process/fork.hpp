// Starting the daemon's children (apps, bind helpers) with every signal blocked across the
// fork, so no handler of the parent (libuv's signal pipe, the reaper) can run in the child before
// the child has set itself up; the parent's mask is back when these return.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

// Code that runs on the stack clone_vm_signals_blocked() gives the child: ASan must not
// instrument it (its no-return bookkeeping expects the thread's own stack).
#if defined(__clang__) || defined(__GNUC__)
#define DROVE_CHILD_CODE __attribute__((no_sanitize_address))
#else
#define DROVE_CHILD_CODE
#endif

namespace drove::process {

// Runs `in_child` in a forked child, with every signal blocked; it must end the child itself
// (exec or _exit: only async-signal-safe calls). Returns the child's pid, or -1 with errno set.
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

// The same as a vfork, as glibc's posix_spawn does it: clone(CLONE_VM | CLONE_VFORK) on a stack
// of its own. The child shares the parent's memory until it execs or exits, and the calling
// thread waits until then: no copy of the address space, so a start costs ~0.5 ms instead of
// fork's 2–20 ms (page tables of a daemon holding 1,000 apps, on a VM), on the loop's thread.
//
// `entry(arg)` runs in the child and must end it (exec or _exit). On top of
// fork_signals_blocked's rules: it and everything of ours it calls are DROVE_CHILD_CODE; it
// writes no memory the parent uses, beyond what the parent set aside for it; it changes
// credentials with raw system calls only (glibc's setuid()/setgid()/setgroups() would broadcast
// the change to the parent's other threads, whose memory the child shares).
inline pid_t clone_vm_signals_blocked(int (*entry)(void*), void* arg) {
  constexpr std::size_t kStackSize = 256 * 1024;
  void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  sigset_t all_signals, previous_mask;
  sigfillset(&all_signals);
  pthread_sigmask(SIG_SETMASK, &all_signals, &previous_mask);
  const pid_t pid = ::clone(entry, static_cast<char*>(stack) + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  ::munmap(stack, kStackSize);  // the child has exec'd or exited: its stack is free
  errno = clone_errno;
  return pid;
}

}  // namespace drove::process
