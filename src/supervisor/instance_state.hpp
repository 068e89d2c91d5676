// The instance state machine as a pure function, beside decide_restart (restart_policy.hpp):
// the supervisor says what happened to a slot (an InstanceEvent), next_state() says which state
// follows. The supervisor does the work (spawning, signals, timers); this table is the one
// place that says which states an instance goes through, and which events cannot happen where.
//
//   stopped | errored ──start──▶ launching ──ready──▶ online
//   launching ──start_failed──▶ errored        launching ──start_deferred──▶ waiting restart
//   launching | online ──exit_*──▶ waiting restart | stopped | errored   (the restart policy)
//   waiting restart ──start──▶ launching        launching | online ──replaced──▶ online
//   launching | online ──stop──▶ stopping ──gone──▶ stopped
//   waiting restart ──stop──▶ stopped           launching (queued) ──cancel_start──▶ stopped
#pragma once

#include <optional>

namespace drove::supervisor {

enum class InstanceState { launching, online, stopping, stopped, waiting_restart, errored };

enum class InstanceEvent {
  start,               // a run is being launched (first start, restart, retry after a delay)
  ready,               // the run serves (listening / 'ready' / READY=1, as the app requires)
  replaced,            // reload: the replacement is ready and now serves in the slot
  start_failed,        // the run could not be launched, and retrying would not help
  start_deferred,      // the host is short of fds/processes: retried after a back-off
  exit_restart_later,  // the run ended; the restart policy restarts it after a delay
  exit_stopped,        // the run ended; not restarted (stop_exit_codes, autorestart off, a stop queued)
  exit_errored,        // the run ended; the policy gave up (too many unstable restarts)
  stop,                // a stop began: its processes are being terminated
  cancel_start,        // a stop came while the start was still queued: nothing ran
  gone,                // every process of the slot is gone after a stop
};

const char* to_string(InstanceState state);  // PM2's words: "waiting restart", ...
const char* to_string(InstanceEvent event);

// The state after `event` in state `from`; nullopt when the event cannot happen in that state
// (a bug of the caller: the supervisor logs it and keeps the state).
std::optional<InstanceState> next_state(InstanceState from, InstanceEvent event);

}  // namespace drove::supervisor
