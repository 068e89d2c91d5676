// PM2's restart semantics as a pure function: given how an instance ended and its history,
// decide whether to restart it, after what delay, or to give up.
//
//  - an exit code listed in stop_exit_codes, or autorestart=false → stopped, no restart;
//  - a run shorter than min_uptime is "unstable"; once unstable_restarts reaches max_restarts
//    the instance is errored (PM2: "too many unstable restarts"). Unlike PM2, a stable run
//    (≥ min_uptime) resets the count, so max_restarts bounds *consecutive* crash loops and an
//    app that crashes once a week never drifts into errored;
//  - delay: exp_backoff_restart_delay when set (base, then ×1.5 each restart, capped at
//    15 s, back to base after a run of 30 s or more), else restart_delay.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace drove::supervisor {

struct RestartPolicy {
  bool autorestart = true;
  std::int64_t min_uptime_ms = 1000;
  int max_restarts = 16;
  std::int64_t restart_delay_ms = 0;
  std::int64_t exp_backoff_restart_delay_ms = 0;
  std::vector<int> stop_exit_codes;
};

struct RunEnd {
  std::optional<int> exit_code;  // absent when killed by a signal
  std::int64_t uptime_ms = 0;
};

struct RestartHistory {
  int unstable_restarts = 0;
  std::int64_t last_backoff_ms = 0;  // the exponential back-off delay used last time, 0 = none
};

struct RestartDecision {
  enum class Action { restart, stop, errored };
  Action action = Action::restart;
  std::int64_t delay_ms = 0;
  RestartHistory next;  // the history to keep after this decision
  std::string reason;   // for the daemon log and `describe`
};

inline constexpr std::int64_t kBackoffCapMs = 15000;
inline constexpr std::int64_t kBackoffResetUptimeMs = 30000;

RestartDecision decide_restart(const RestartPolicy& policy, const RunEnd& run, const RestartHistory& history);

}  // namespace drove::supervisor
