// Instance: one running copy of an app (one row of `drove list`), and its state machine:
//
//   launching ──ready──▶ online ──exit──▶ (policy) ──▶ waiting restart ──timer──▶ launching
//       │                  │                  └──▶ stopped | errored
//       └────── stop ──────┴──▶ stopping ──tree gone──▶ stopped
//
// The supervisor drives transitions; the instance holds the facts (pid, timers, counters).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/uv_handle.hpp"
#include "process/exit_status.hpp"
#include "process/process_tree.hpp"
#include "supervisor/restart_policy.hpp"

namespace drove::supervisor {

enum class InstanceState { launching, online, stopping, stopped, waiting_restart, errored };

const char* to_string(InstanceState state);  // PM2's words: "waiting restart", ...

struct App;

struct Instance {
  int id = 0;        // pm_id: unique across the daemon
  int index = 0;     // NODE_APP_INSTANCE: dense within the app
  App* app = nullptr;

  InstanceState state = InstanceState::stopped;
  pid_t pid = 0;
  std::int64_t created_at_ms = 0;       // wall clock, first start
  std::int64_t started_at_ms = 0;       // wall clock, this run (pm_uptime)
  std::int64_t started_mono_ms = 0;     // monotonic, this run
  int restart_time = 0;                 // restarts done (crash or command)
  RestartHistory history;               // unstable restarts, back-off
  std::optional<process::ExitStatus> last_exit;
  std::string last_error;               // why it is errored / why a spawn failed

  // Stopping: the tree recorded when the stop began, and who waits for "stopped".
  std::optional<process::TreeSnapshot> tree;
  std::vector<std::function<void()>> stop_waiters;
  bool restart_after_stop = false;      // a restart command: start again once stopped
  std::int64_t stop_began_mono_ms = 0;
  bool killed = false;                  // SIGKILL sent after kill_timeout

  UvHandle<uv_timer_t> timer;           // restart delay, kill timeout, tree polling
  std::function<void()> timer_action;   // what the timer does when it fires

  // Resource use of the whole tree, refreshed by the sampler.
  double cpu_percent = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t last_cpu_ticks = 0;
  std::int64_t last_sample_mono_ms = 0;

  std::string out_log_path, err_log_path, pid_file_path;

  [[nodiscard]] bool running() const {
    return state == InstanceState::launching || state == InstanceState::online || state == InstanceState::stopping;
  }
};

}  // namespace drove::supervisor
