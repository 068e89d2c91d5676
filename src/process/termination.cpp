#include "process/termination.hpp"

#include <algorithm>

namespace drove::process {

TerminationStep next_termination_step(const TerminationState& state, const TerminationPlan& plan,
                                      const TerminationView& view) {
  TerminationStep step;
  step.next = state;
  const std::int64_t elapsed = view.now_ms - state.began_ms;
  // A process stopped by message (a cluster disconnect, 'shutdown') may leave children: they get
  // the stop signal once it has gone.
  if (!view.main_alive && view.tree_alive && !state.signalled) {
    step.signal_stop = true;
    step.next.signalled = true;
  }
  const bool give_up = state.killed && !view.main_alive && elapsed >= plan.kill_timeout_ms + plan.give_up_after_kill_ms;
  if (!view.main_alive && (!view.tree_alive || give_up)) {
    step.done = true;
    step.gave_up = view.tree_alive;
    return step;
  }
  if (!state.killed && elapsed >= plan.kill_timeout_ms) {
    step.kill = true;
    step.next.killed = true;
  }
  // The reaper reports the main process's exit; the timer is for the kill deadline and, once the
  // main process is gone, for watching the rest of the tree go.
  const std::int64_t until_kill =
      step.next.killed ? plan.tree_poll_ms : std::max<std::int64_t>(1, plan.kill_timeout_ms - elapsed);
  step.wake_in_ms = view.main_alive ? until_kill : std::min(plan.tree_poll_ms, until_kill);
  return step;
}

}  // namespace drove::process
