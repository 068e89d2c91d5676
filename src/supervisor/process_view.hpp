// ProcessView: one instance as the daemon shows it — `list` (its row), `jlist`/`describe` (the
// whole view) and whatever else reports on processes (events, metrics, a dashboard). Values
// only, taken on the loop by Supervisor::row()/view(); mapped to the wire format in one place
// (daemon/process_json.cpp), so every consumer agrees on what a field means.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/app_spec.hpp"
#include "process/exit_status.hpp"
#include "supervisor/instance_state.hpp"

namespace drove::supervisor {

// How the instance's process tree is stopped: by its cgroup, or by the /proc + pidfd fallback.
enum class TreeKill { cgroup, pidfd };
const char* to_string(TreeKill how);

// How one of an instance's processes ended.
struct ExitRecord {
  std::int64_t at_ms = 0;  // wall clock
  process::ExitStatus status;
  std::int64_t uptime_ms = 0;
  bool stopped = false;  // asked to stop (stop, restart, reload, delete), not on its own
};

struct ProcessView {
  // The row (`list`'s table, and the replies of commands that act on many instances).
  int id = 0;     // pm_id
  int index = 0;  // NODE_APP_INSTANCE
  std::string name;
  std::string namespace_name;
  pid_t pid = 0;  // 0: no process
  InstanceState state = InstanceState::stopped;
  ExecMode exec_mode = ExecMode::fork;
  int restart_time = 0;
  std::int64_t started_at_ms = 0;               // wall clock of the current run; 0 without one
  double cpu_percent = 0;                       // whole tree, last sample
  std::uint64_t memory_bytes = 0;               // whole tree, last sample
  std::uint64_t private_memory_bytes = 0;       // whole tree: resident minus shared pages
  std::uint32_t open_fds = 0;                   // whole tree
  std::uint32_t threads = 0;                    // whole tree
  std::uint32_t tree_processes = 0;             // the main process and its descendants
  std::int64_t last_replacement_ready_ms = -1;  // its last reload: the replacement's launch to ready
  std::int64_t last_retirement_ms = -1;         // ...and the previous process's graceful stop
  std::string user;                             // the app's user; empty: the daemon's
  std::string last_error;

  // The rest of the description (`describe`, `jlist`); left empty by Supervisor::row().
  int instances = 0;  // of its app
  int unstable_restarts = 0;
  std::int64_t created_at_ms = 0;
  std::string out_log_path, err_log_path, log_path, pid_path;
  std::string exec_path, interpreter, cwd;
  std::string last_restart_reason;
  bool watching = false;
  std::uint64_t dropped_messages = 0;  // messages from the app that were dropped
  std::string last_dropped_reason;
  TreeKill tree_kill = TreeKill::pidfd;
  std::optional<process::ExitStatus> last_exit;
  std::vector<ExitRecord> exits;                          // the last few, newest last
  nlohmann::json app_metrics = nlohmann::json::object();  // @pm2/io's, PM2's axm_monitor shape
  nlohmann::json app_actions = nlohmann::json::array();   // PM2's axm_actions
};

}  // namespace drove::supervisor
