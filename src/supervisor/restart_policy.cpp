#include "supervisor/restart_policy.hpp"

#include <algorithm>

namespace drove::supervisor {

RestartDecision decide_restart(const RestartPolicy& policy, const RunEnd& run, const RestartHistory& history) {
  RestartDecision d;
  d.next = history;

  if (run.exit_code && std::find(policy.stop_exit_codes.begin(), policy.stop_exit_codes.end(), *run.exit_code) !=
                           policy.stop_exit_codes.end()) {
    d.action = RestartDecision::Action::stop;
    d.reason = "exit code " + std::to_string(*run.exit_code) + " is in stop_exit_codes";
    return d;
  }
  if (!policy.autorestart) {
    d.action = RestartDecision::Action::stop;
    d.reason = "autorestart is off";
    return d;
  }

  const bool unstable = run.uptime_ms < policy.min_uptime_ms;
  d.next.unstable_restarts = unstable ? history.unstable_restarts + 1 : 0;
  if (unstable && d.next.unstable_restarts >= policy.max_restarts) {
    d.action = RestartDecision::Action::errored;
    d.reason = "too many unstable restarts (" + std::to_string(d.next.unstable_restarts) +
               " runs shorter than min_uptime " + std::to_string(policy.min_uptime_ms) + " ms)";
    d.next.unstable_restarts = 0;
    d.next.last_backoff_ms = 0;
    return d;
  }

  d.action = RestartDecision::Action::restart;
  if (policy.exp_backoff_restart_delay_ms > 0) {
    const bool fresh = history.last_backoff_ms == 0 || run.uptime_ms >= kBackoffResetUptimeMs;
    const std::int64_t grown = history.last_backoff_ms + history.last_backoff_ms / 2;  // × 1.5
    d.delay_ms = fresh ? policy.exp_backoff_restart_delay_ms : std::min(kBackoffCapMs, grown);
    d.next.last_backoff_ms = d.delay_ms;
    d.reason = "exponential back-off";
  } else {
    d.delay_ms = policy.restart_delay_ms;
    d.reason = unstable ? "unstable run" : "exited";
  }
  return d;
}

}  // namespace drove::supervisor
