// Graceful termination of one process tree, as a pure function of time and of what is still
// alive: when to send the stop signal to the tree, when to SIGKILL it, when it is over, and
// when to look again. The supervisor observes (reaper, /proc or cgroup) and acts (signals); this
// decides, so every path (a clean exit, a process that ignores SIGTERM, children left behind by
// a process stopped by message, a tree that survives SIGKILL) is unit-tested with a fake clock.
#pragma once

#include <cstdint>

namespace drove::process {

struct TerminationPlan {
  std::int64_t kill_timeout_ms = 1600;  // PM2's kill_timeout: the stop signal, then SIGKILL after this
  // Once SIGKILL went and the main process is reaped, how long leftovers (in D state, or in
  // another PID namespace) may take before the stop is reported done anyway.
  std::int64_t give_up_after_kill_ms = 5000;
  // How often the tree is looked at once the main process is gone (its exit is reported by the
  // reaper; its descendants' are not).
  std::int64_t tree_poll_ms = 5;
};

struct TerminationState {
  std::int64_t began_ms = 0;  // monotonic
  bool signalled = false;     // the stop signal went to the tree
  bool killed = false;        // SIGKILL went to the tree
};

// What the caller saw just now. `tree_alive`: something of the tree besides the main process is
// left (always false when the app does not kill its tree, `treekill: false`).
struct TerminationView {
  std::int64_t now_ms = 0;
  bool main_alive = false;
  bool tree_alive = false;
};

struct TerminationStep {
  TerminationState next;        // the state after this step's actions
  bool signal_stop = false;     // send the stop signal to the tree now
  bool kill = false;            // send SIGKILL to the tree and the main process now
  bool done = false;            // over: the main process is reaped and the tree gone (or given up)
  bool gave_up = false;         // over although something survived SIGKILL
  std::int64_t wake_in_ms = 0;  // when not done: look again after this long (the timer)
};

TerminationStep next_termination_step(const TerminationState& state, const TerminationPlan& plan,
                                      const TerminationView& view);

}  // namespace drove::process
