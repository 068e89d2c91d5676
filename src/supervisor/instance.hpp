// Instance: one slot of an app (one row of `drove list`: pm_id, NODE_APP_INSTANCE), and Run:
// one process started for it. A slot usually has one run; during a rolling reload it also has
// an `incoming` run (the replacement, not yet ready) and `retiring` runs (replaced, finishing
// their requests). The instance's state machine is next_state() (instance_state.hpp); the
// supervisor drives it, these structures hold the facts.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/uv_handle.hpp"
#include "ipc/channel.hpp"
#include "logs/instance_output.hpp"
#include "logs/output_spec.hpp"
#include "process/cgroup.hpp"
#include "process/exit_status.hpp"
#include "process/process_tree.hpp"
#include "process/termination.hpp"
#include "supervisor/instance_state.hpp"
#include "supervisor/process_view.hpp"
#include "supervisor/resource_history.hpp"
#include "supervisor/restart_policy.hpp"
#include "supervisor/stdin_writer.hpp"

namespace drove::supervisor {

struct App;
struct Instance;

// A timer that runs a stored action; the action may re-arm or cancel it.
struct ActionTimer {
  UvHandle<uv_timer_t> handle;
  std::function<void()> action;

  void init(uv_loop_t* loop);
  void start(std::int64_t delay_ms, std::function<void()> run);
  void cancel();
};

struct Run {
  int worker_id = 0;  // unique per process the daemon starts (NODE_UNIQUE_ID)
  Instance* instance = nullptr;
  pid_t pid = 0;    // 0 once reaped
  pid_t group = 0;  // its process group (the first pid), outlives the process
  std::int64_t started_mono_ms = 0;
  std::int64_t started_at_ms = 0;  // wall clock (pm_uptime)
  bool ready = false;              // serving: listening / 'ready' / READY=1, as the app requires
  bool said_ready = false;         // process.send('ready') or sd_notify READY=1
  bool said_online = false;        // cluster worker's 'online'
  bool main_script_ran = false;    // Node worker seen waiting in its event loop (event_loop_probe)
  bool probe_unavailable = false;  // its /proc files cannot tell: listen_timeout decides
  int idle_probes = 0;             // consecutive probes that found it waiting in its event loop
  ActionTimer probe;               // the event-loop probe (messages.cpp), until the main script ran
  std::optional<process::ExitStatus> exit;
  std::unique_ptr<ipc::Channel> channel;         // Node's IPC channel (process.send, cluster protocol)
  std::unique_ptr<logs::InstanceOutput> output;  // its stdout/stderr pipes, drained to the logs
  std::unique_ptr<StdinWriter> stdin_writer;     // its stdin (fork mode; cluster workers: /dev/null)
  // What the process's @pm2/io reports (app_metrics.hpp): PM2's axm_monitor and axm_actions.
  // They belong to the process: a restart or reload starts them afresh, as PM2 does.
  nlohmann::json axm_monitor = nlohmann::json::object();
  nlohmann::json axm_actions = nlohmann::json::array();

  // Termination: the tree recorded when it began, the SIGKILL deadline, who to tell when the
  // process is reaped and its whole tree is gone.
  bool terminating = false;
  process::TerminationState termination;       // when it began, what was sent (process/termination.hpp)
  std::optional<process::TreeSnapshot> tree;   // without a cgroup: the tree found by /proc
  std::unique_ptr<process::RunCgroup> cgroup;  // its cgroup, when the daemon can make them
  std::function<void()> on_gone;
  ActionTimer timer;

  // Taken back from a previous daemon (survival.cpp): it is the keeper's child, which reaps it,
  // so its pid may be recycled before we hear of its exit: it is signalled through this pidfd,
  // opened after checking its start time. Its DROVE_RUN marker names the daemon that started it.
  UniqueFd pidfd;
  std::string marker;
  std::uint64_t start_ticks = 0;  // /proc/<pid>/stat start time, once known

  // The main process: through the pidfd when adopted, by pid otherwise (an unreaped child's
  // pid cannot be recycled). False when it is already gone.
  bool signal_main(int sig) const;

  [[nodiscard]] std::int64_t uptime_ms(std::int64_t now_mono) const { return now_mono - started_mono_ms; }
};

struct Instance {
  int id = 0;     // pm_id: unique across the daemon
  int index = 0;  // NODE_APP_INSTANCE: dense within the app
  App* app = nullptr;

  InstanceState state = InstanceState::stopped;
  std::unique_ptr<Run> run;                    // the current process, if any
  std::unique_ptr<Run> incoming;               // reload: the replacement until it is ready
  std::vector<std::unique_ptr<Run>> retiring;  // reload: replaced, stopping gracefully

  std::int64_t created_at_ms = 0;  // wall clock, first start
  int restart_time = 0;            // restarts done (crash, restart, reload)
  RestartHistory history;          // unstable restarts, back-off
  std::optional<process::ExitStatus> last_exit;
  // How its processes ended, newest last (at most kExitHistory): a crash loop reads at a glance.
  static constexpr std::size_t kExitHistory = 10;
  std::deque<ExitRecord> exits;
  void record_exit(const ExitRecord& record) {
    exits.push_back(record);
    if (exits.size() > kExitHistory) exits.pop_front();
  }
  std::string last_error;            // why it is errored / why a start failed
  bool ready_timed_out = false;      // its run was not ready within listen_timeout
  bool start_queued = false;         // launching, waiting for its turn (queue_start)
  bool stop_queued = false;          // to be stopped, waiting for its turn (queue_stop)
  int transient_start_failures = 0;  // EMFILE/EAGAIN... in a row: the retry back-off
  std::string last_restart_reason;   // what the daemon restarted it for (memory, cron, watch)

  std::vector<std::function<void()>> stop_waiters;
  // A user's `stop` came after a restart began (cron, watch, memory, or a `restart` still
  // stopping): the restart must not start the instance again once it is down.
  bool stop_requested = false;
  std::deque<nlohmann::json> messages;  // the last messages the app sent (describe)
  // Messages from the app that were dropped (not JSON, too deep, a malformed cluster message):
  // counted and shown by describe; drove.log gets at most one line per instance per minute.
  std::uint64_t dropped_messages = 0;
  std::string last_dropped_reason;
  std::int64_t dropped_logged_mono_ms = 0;
  std::uint64_t dropped_since_logged = 0;
  ActionTimer restart_timer;  // waiting restart

  // Resource use of the whole tree, refreshed by the sampler.
  double cpu_percent = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t private_memory_bytes = 0;  // resident minus shared pages
  std::uint32_t open_fds = 0;
  std::uint32_t threads = 0;
  std::uint32_t tree_processes = 0;  // the main process and its descendants
  std::uint64_t last_cpu_ticks = 0;
  // Its last zero-downtime replacement: launch to ready, and the previous process's stop (it
  // finishes what it was serving, then exits). -1: none yet, or still going.
  std::int64_t last_replacement_ready_ms = -1;
  std::int64_t last_retirement_ms = -1;
  std::int64_t last_sample_mono_ms = 0;
  ResourceHistory usage_history;  // CPU and memory, one sample per period

  logs::OutputSpec output_spec;  // where its output goes (paths, prefixes, rotation)
  std::string pid_file_path;
  FileOwner pid_file_owner;  // whose rights write it (output_spec.owner_for)

  [[nodiscard]] pid_t pid() const { return run ? run->pid : 0; }
  [[nodiscard]] bool has_processes() const { return run || incoming || !retiring.empty(); }
};

}  // namespace drove::supervisor
