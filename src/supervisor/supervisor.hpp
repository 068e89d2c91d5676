// Supervisor: owns every app and instance of the daemon and drives the instance state machine:
// spawning runs, exit handling through the restart policy, graceful termination of whole
// process trees, restarts, rolling reloads, deletion and resource sampling. Commands come down
// from the RPC layer; events go up to one sink. It knows nothing of the RPC or terminals.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/command_error.hpp"
#include "base/result.hpp"
#include "base/turn_queue.hpp"
#include "base/uv_handle.hpp"
#include "logs/log_manager.hpp"
#include "process/cgroup.hpp"
#include "process/notify_socket.hpp"
#include "process/proc_table.hpp"
#include "process/reaper.hpp"
#include "supervisor/app.hpp"
#include "supervisor/events.hpp"
#include "supervisor/instance.hpp"
#include "supervisor/process_view.hpp"
#include "supervisor/rolling_reload.hpp"

namespace drove::supervisor {

struct HomePaths {
  std::string home;      // $DROVE_HOME
  std::string logs_dir;  // $DROVE_HOME/logs
  std::string pids_dir;  // $DROVE_HOME/pids
  // Apps that name no log file get <logs_dir>/<name>-out.log and -error.log. Off for `drove
  // runtime`, whose stdout is the log (as pm2-runtime's --output/--error default to /dev/null).
  bool default_log_files = true;
  // drove's Node metrics preload (share/drove/node-metrics.js beside the binary), for apps with
  // node_metrics; empty when it is not installed.
  std::string node_metrics_preload;
  // The resource sampler's period, and how many samples each instance keeps (ResourceHistory):
  // DROVE_SAMPLE_INTERVAL_MS and DROVE_HISTORY_MINUTES when the daemon starts.
  std::int64_t sample_interval_ms = 1000;
  std::size_t history_samples = 300;
};

// A command's failure is a CommandError: a typed kind (ErrorCode) and a one-line message.
using drove::CommandError;
using drove::CommandResult;
using drove::CommandStatus;
using drove::ErrorCode;

// What `restart` and `reload` lay over the targeted apps' environments, in PM2's order: the
// caller's shell (--update-env), then the variables an ecosystem file declares for each app
// (env, env_<name>, deploy.<name>.env). Whatever is not named keeps its value.
struct EnvUpdate {
  std::optional<std::map<std::string, std::string>> shell;
  std::map<std::string, std::map<std::string, std::string>> declared;  // per app name
};

struct ReloadOutcome {
  bool ok = true;
  std::string message;  // why it failed, or a notice (fork mode fell back to restart)
};

class Supervisor {
 public:
  using Done = std::function<void()>;
  using EventSink = std::function<void(const Event& event)>;

  Supervisor(uv_loop_t* loop, process::Reaper& reaper, HomePaths paths);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Registers the apps and starts their instances (unless autostart is off). All-or-nothing:
  // a name already taken rejects the whole request, unless `force` (PM2's -f: another app under
  // the same name). Returns the new instance ids.
  CommandResult<std::vector<int>> add(std::vector<AppSpec> specs, bool force = false);

  // Resolves targets as PM2 does: "all", /regex/, an id or numeric name, a name or script
  // path (relative ones against the caller's `cwd`), a namespace. A target matching nothing → error.
  CommandResult<std::vector<Instance*>> resolve(const std::vector<std::string>& targets, const std::string& cwd = "");

  void stop(const std::vector<Instance*>& instances, Done done);
  // Hard restart: stop each instance (whole tree) then start it again. With `new_env`, the
  // app's environment is replaced first (--update-env).
  void restart(const std::vector<Instance*>& instances, Done done);
  // Lays `update` over the environments of the apps of `instances` (used before restart/reload).
  void update_env(const std::vector<Instance*>& instances, const EnvUpdate& update);
  // Sets an app's number of instances: "N", "+N" or "-N". As PM2: scaling down removes the
  // oldest instances; new instances take the lowest free indexes (NODE_APP_INSTANCE). For an
  // autoscaled app a count pins it (autoscaling paused) and "auto" resumes autoscaling.
  CommandStatus scale(const std::string& name, const std::string& count, Done done);
  // Rolling zero-downtime reload of the apps these instances belong to (see reload.cpp).
  CommandStatus reload(const std::vector<Instance*>& instances, int batch_size,
                       std::function<void(std::vector<ReloadOutcome>)> done);
  // Sends a message to instances' process.on('message') (`drove send`, `drove trigger`).
  CommandStatus send_message(const std::vector<Instance*>& instances, const nlohmann::json& message);
  // Writes `bytes` to each instance's stdin (fork mode), as PM2's sendLineToStdin.
  CommandStatus send_line(const std::vector<Instance*>& instances, const std::string& bytes);
  // Replaces an existing app's options (its name picks it) before a restart; instances and
  // exec mode stay.
  CommandStatus replace_spec(AppSpec spec);
  CommandStatus rename_app(const std::string& from, const std::string& to);
  // `drove sendSignal`: the signal to each instance's main process (as PM2, not its tree).
  CommandStatus send_signal(const std::vector<Instance*>& instances, int signal);
  // Starts instances that are stopped or errored (`drove start <name>`).
  void start_existing(const std::vector<Instance*>& instances);
  void remove(const std::vector<Instance*>& instances, Done done);
  void reset_counters(const std::vector<Instance*>& instances);
  // Whether any of these instances is still queued to be launched (see add()).
  [[nodiscard]] bool starts_pending(const std::vector<int>& ids) const;
  // Whether any of these instances is launching (queued, or started and not yet online).
  [[nodiscard]] bool any_launching(const std::vector<int>& ids) const;
  // `stop` turns watching off for the apps of these instances (PM2's stopWatch); a later
  // `start` keeps it off, `restart --watch` turns it back on.
  void stop_watching(const std::vector<Instance*>& instances);
  // `restart --watch`: toggles watching of the apps of these instances (PM2's toggleWatch).
  void toggle_watching(const std::vector<Instance*>& instances);
  void stop_all(Done done);

  // One instance as list/jlist/describe show it (process_view.hpp): row() fills the table's
  // columns only (cheap: replies of commands acting on 1,000 instances carry rows), view() all.
  [[nodiscard]] ProcessView row(const Instance& instance) const;
  [[nodiscard]] ProcessView view(const Instance& instance) const;
  [[nodiscard]] Instance* find_instance(int id) const;
  // Every instance, by pm_id.
  [[nodiscard]] std::vector<const Instance*> instances() const;
  [[nodiscard]] std::int64_t sample_interval_ms() const { return paths_.sample_interval_ms; }
  [[nodiscard]] bool empty() const { return instances_.empty(); }
  // Every app's spec, with whether any of its instances is meant to run (for `save`).
  [[nodiscard]] std::vector<std::pair<AppSpec, bool>> saved_state() const;

  // Surviving the daemon (survival.cpp, docs/architecture.md). The version of the state
  // description: a daemon that reads a different one refuses to take the apps over.
  static constexpr int kStateVersion = 1;
  struct KeptFd {
    std::uint64_t token;  // names the kernel object (its inode), whatever the descriptor number
    int fd;
    pid_t pid;  // the process it belongs to (0: a listening socket)
    std::uint64_t start;
  };
  struct KeptState {
    nlohmann::json state;
    std::vector<KeptFd> fds;
  };
  // Every app and run as JSON, and every descriptor held for them.
  [[nodiscard]] KeptState kept_state();
  struct HandedFd {
    UniqueFd fd;
    pid_t pid = 0;
    std::uint64_t start = 0;
  };
  // Takes back what a previous daemon described in `state`, with the descriptors the keeper
  // handed back (by token; consumed). Returns a one-line summary for the log.
  std::string adopt(const nlohmann::json& state, std::map<std::uint64_t, HandedFd>& fds);
  // The keeper died: nobody reaps the runs a previous daemon started (they are not our children)
  // and reports their exits any more. Their pidfds say when they end from now on.
  void watch_adopted_runs_without_keeper();
  // `drove update`: every cluster primary stops accepting; returns how many connections they
  // still hold (accepted, waiting for a worker): the hand-over waits for 0.
  std::size_t freeze_accepting();

  void set_event_sink(EventSink sink) { event_sink_ = std::move(sink); }
  [[nodiscard]] logs::LogManager& logs() { return logs_; }
  [[nodiscard]] const logs::LogManager& logs() const { return logs_; }

 private:
  // lifecycle.cpp
  Run* launch(Instance& instance, bool incoming);
  void start_instance(Instance& instance);
  void queue_start(Instance& instance);
  void start_queued(int id);
  void begin_stops(const std::vector<Instance*>& instances);
  void queue_stop(Instance& instance);
  void stop_queued(int id);
  void on_run_exit(Run& run, process::ExitStatus status);
  void terminate(Run& run, Done on_gone);
  void poll_terminating(Run& run);
  void signal_run(Run& run);
  [[nodiscard]] bool tree_alive(Run& run, bool rescan);
  [[nodiscard]] process::TreeSnapshot::Identity tree_identity(const Run& run) const;
  void arm_readiness(Run& run);
  void open_channel(Run& run, UniqueFd ours);
  // survival.cpp
  bool stop_stray(pid_t pid, std::uint64_t start_ticks);
  void claim_id(int id);
  void after_crash(Instance& instance);
  void begin_stop(Instance& instance);
  void finish_stop(Instance& instance);
  void bury(std::unique_ptr<Run> run);
  void collect_later();
  void mark_ready(Run& run);
  void check_ready(Run& run);
  // messages.cpp
  void on_channel_message(Run& run, const nlohmann::json& message, UniqueFd fd);
  void on_app_message(Run& run, const nlohmann::json& message);
  void on_dropped_message(Instance& instance, const std::string& reason);
  void create_primary(App& app);
  std::shared_ptr<cluster::ClusterPrimary> shareable_primary(const App& app) const;
  void probe_event_loop(Run& run);
  [[nodiscard]] std::vector<std::string> peer_listening_keys(const App& app) const;
  Run* find_worker(int worker_id);
  Run* find_notifying_run(pid_t sender);
  // triggers.cpp: cron_restart, watch, max_memory_restart
  void start_triggers(App& app);
  void stop_triggers(App& app);
  void arm_cron(App& app);
  void enable_watch(App& app);
  void disable_watch(App& app);
  void on_watched_change(App& app, const std::string& path);
  void check_memory();
  void restart_for(App& app, const std::vector<Instance*>& instances, const std::string& reason, Done done);
  // reload.cpp
  RollingReload::Host reload_host();
  void on_incoming_ready(Instance& instance);
  void on_incoming_failed(Instance& instance, const std::string& why);
  [[nodiscard]] bool holds_sockets(const App& app) const;

  // Moves the instance along the state machine (next_state); an event that cannot happen in its
  // state is logged as an internal error and leaves the state as it is.
  void transition(Instance& instance, InstanceEvent event);
  void emit(const Instance& instance, EventData data);
  void emit_app(const App& app, EventData data);  // an event of the whole app (id -1)
  // scale(): the count checked, the instances added or removed.
  void scale_app(App& app, int target, Done done);
  // autoscaling.cpp: once per sample, each autoscaled app's signal measured and decided on.
  void autoscale_all();
  void autoscale(App& app, std::int64_t now_ms);
  [[nodiscard]] ScaleSignal scale_signal(const App& app) const;
  [[nodiscard]] bool scalable(const App& app) const;
  void record_scale(App& app, ScaleRecord record);
  void sample();
  void read_proc_off_loop(const char* what, bool& busy, std::function<void(const process::ProcTable&)> apply);
  void apply_sample(const process::ProcTable& table, const std::vector<std::pair<int, pid_t>>& sampled,
                    const std::vector<process::Footprint>& footprints);
  void apply_memory_check(const process::ProcTable& table, const std::vector<std::pair<int, pid_t>>& limited);
  // The lowest free pm_id (PM2 reuses ids), in O(log n): scaling to thousands of instances
  // used to scan every id per new instance.
  int next_free_id();
  void release_id(int id);
  [[nodiscard]] std::vector<int> free_indexes(const App& app, int count) const;
  // A new app under its name (timers, its cluster primary), with no instance yet.
  App& register_app(AppSpec spec);
  Instance& new_instance(App& app, int index);
  Run* find_run(pid_t pid);
  void assign_log_paths(Instance& instance) const;

  uv_loop_t* loop_;
  process::Reaper& reaper_;
  HomePaths paths_;
  // Owners of work done off the loop (run_off_loop) hold a weak_ptr of this: gone, they drop it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  // The /proc snapshot stops without cgroups share within one loop turn.
  mutable process::TurnProcTable proc_table_;  // a cache: reading it from const members is fine
  // Declared before every run so it outlives their cgroups; null when cgroups are unavailable
  // (then process trees are tracked by TreeSnapshot).
  std::unique_ptr<process::CgroupRoot> cgroups_;
  // Declared first so it is destroyed last: it must outlive every InstanceOutput below.
  logs::LogManager logs_;
  // By name; several apps may share one (`start <script> -f`, as PM2).
  std::multimap<std::string, std::unique_ptr<App>> apps_;
  std::map<int, std::unique_ptr<Instance>> instances_;  // by id
  std::set<int> released_ids_;                          // free ids below next_id_
  int next_id_ = 0;                                     // every id >= it is free
  std::vector<std::unique_ptr<Run>> graveyard_;         // finished runs, freed after the loop turn
  std::vector<std::unique_ptr<Instance>> deleted_;      // deleted instances, likewise
  std::vector<std::unique_ptr<App>> deleted_apps_;
  std::vector<std::unique_ptr<RollingReload>> finished_reloads_;
  UvHandle<uv_check_t> collector_;
  // Starts wait here and run a bounded batch per loop turn (see queue_start).
  TurnQueue starts_;
  // Stops asked in bulk, likewise (see queue_stop).
  TurnQueue stops_;
  UvHandle<uv_timer_t> sampler_;
  bool sampling_ = false;                    // a /proc snapshot is being read off the loop
  static constexpr int kFootprintEvery = 5;  // samples between two reads of descriptors/private memory
  int footprint_countdown_ = 0;              // 0: this sample reads them
  UvHandle<uv_timer_t> memory_guard_;        // max_memory_restart checks, see triggers.cpp
  bool memory_checking_ = false;
  std::list<std::unique_ptr<logs::InstanceOutput>> draining_;  // outputs of finished runs
  EventSink event_sink_;
  int next_worker_id_ = 1;
  std::vector<std::shared_ptr<ActionTimer>> stray_timers_;  // SIGKILL deadlines of strays (survival.cpp)
  int launch_error_code_ = 0;                               // errno of launch()'s last failure (0: not a system error)
  process::NotifySocket notify_;
};

}  // namespace drove::supervisor
