// Supervisor: owns every app and instance of the daemon and drives the instance state machine:
// spawning runs, exit handling through the restart policy, graceful termination of whole
// process trees, restarts, rolling reloads, deletion and resource sampling. Commands come down
// from the RPC layer; events go up to one sink. It knows nothing of the RPC or terminals.
#pragma once

#include <uv.h>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/uv_handle.hpp"
#include "logs/log_manager.hpp"
#include "process/notify_socket.hpp"
#include "process/reaper.hpp"
#include "supervisor/app.hpp"
#include "supervisor/instance.hpp"

namespace drove::supervisor {

struct HomePaths {
  std::string home;      // $DROVE_HOME
  std::string logs_dir;  // $DROVE_HOME/logs
  std::string pids_dir;  // $DROVE_HOME/pids
};

// A user-facing failure of a command: a stable code and a one-line message.
struct CommandError {
  std::string code;     // "ENOTFOUND", "EEXIST", "EINVAL", "EBUSY", ...
  std::string message;
};

// --update-env: variables laid over every targeted app's environment (`merge`, the shell's),
// and whole environments per app name (`replace`, from an ecosystem file).
struct EnvUpdate {
  bool active = false;
  std::map<std::string, std::string> merge;
  std::map<std::string, std::map<std::string, std::string>> replace;
};

struct ReloadOutcome {
  bool ok = true;
  std::string message;  // why it failed, or a notice (fork mode fell back to restart)
};

class Supervisor {
 public:
  using Done = std::function<void()>;
  using EventSink = std::function<void(const nlohmann::json& event)>;

  Supervisor(uv_loop_t* loop, process::Reaper& reaper, HomePaths paths);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Registers the apps and starts their instances (unless autostart is off). All-or-nothing:
  // a name already taken rejects the whole request. Returns the new instance ids.
  std::variant<std::vector<int>, CommandError> add(std::vector<AppSpec> specs);

  // Resolves targets: "all", an id, a name, a namespace. Unknown target → error.
  std::variant<std::vector<Instance*>, CommandError> resolve(const std::vector<std::string>& targets);

  void stop(const std::vector<Instance*>& instances, Done done);
  // Hard restart: stop each instance (whole tree) then start it again. With `new_env`, the
  // app's environment is replaced first (--update-env).
  void restart(const std::vector<Instance*>& instances, const EnvUpdate& env, Done done);
  // Sets an app's number of instances: "N", "+N" or "-N". Indexes stay dense: new instances
  // take the next indexes, removed ones are the highest.
  std::optional<CommandError> scale(const std::string& name, const std::string& count, Done done);
  // Rolling zero-downtime reload of the apps these instances belong to (see reload.cpp).
  std::optional<CommandError> reload(const std::vector<Instance*>& instances, int batch_size,
                                     std::function<void(std::vector<ReloadOutcome>)> done);
  // Sends a message to instances' process.on('message') (`drove send`, `drove trigger`).
  std::optional<CommandError> send_message(const std::vector<Instance*>& instances, const nlohmann::json& message);
  // Starts instances that are stopped or errored (`drove start <name>`).
  void start_existing(const std::vector<Instance*>& instances);
  void remove(const std::vector<Instance*>& instances, Done done);
  void reset_counters(const std::vector<Instance*>& instances);
  // `stop` turns watching off for the apps of these instances (PM2's stopWatch); a later
  // `start` keeps it off, `restart --watch` turns it back on.
  void stop_watching(const std::vector<Instance*>& instances);
  // `restart --watch`: toggles watching of the apps of these instances (PM2's toggleWatch).
  void toggle_watching(const std::vector<Instance*>& instances);
  void stop_all(Done done);

  // full: spec, messages, log files, cluster. `log_files` (path → that file's stats, see
  // log_file_stats()) is taken once per request, not once per instance.
  [[nodiscard]] nlohmann::json describe(const Instance& instance, bool full,
                                        const std::map<std::string, nlohmann::json>& log_files = {}) const;
  [[nodiscard]] std::map<std::string, nlohmann::json> log_file_stats() const;
  [[nodiscard]] nlohmann::json list(bool full) const;
  // Every app's spec, with whether any of its instances is meant to run (for `save`).
  [[nodiscard]] std::vector<std::pair<AppSpec, bool>> saved_state() const;

  void set_event_sink(EventSink sink) { event_sink_ = std::move(sink); }
  [[nodiscard]] logs::LogManager& logs() { return logs_; }

 private:
  // lifecycle.cpp
  Run* launch(Instance& instance, bool incoming);
  void start_instance(Instance& instance);
  void on_run_exit(Run& run, process::ExitStatus status);
  void terminate(Run& run, Done on_gone);
  void poll_terminating(Run& run);
  void signal_run(Run& run);
  void arm_readiness(Run& run);
  void after_crash(Instance& instance);
  void begin_stop(Instance& instance);
  void finish_stop(Instance& instance);
  void bury(std::unique_ptr<Run> run);
  void collect_later();
  void mark_ready(Run& run);
  void check_ready(Run& run);
  // messages.cpp
  void on_channel_message(Run& run, nlohmann::json message, UniqueFd fd);
  void on_app_message(Run& run, const nlohmann::json& message);
  void create_primary(App& app);
  Run* find_worker(int worker_id);
  // triggers.cpp: cron_restart, watch, max_memory_restart
  void start_triggers(App& app);
  void stop_triggers(App& app);
  void arm_cron(App& app);
  void enable_watch(App& app);
  void disable_watch(App& app);
  void on_watched_change(App& app, const std::string& path);
  void check_memory();
  void restart_for(App& app, std::vector<Instance*> instances, const std::string& reason, Done done);
  // reload.cpp
  void reload_app(App& app, int batch_size, std::function<void(ReloadOutcome)> done);
  void reload_next_batch(App& app);
  void on_incoming_ready(Instance& instance);
  void on_incoming_failed(Instance& instance, const std::string& why);
  [[nodiscard]] bool holds_sockets(const App& app) const;

  void set_state(Instance& instance, InstanceState state);
  void emit(const std::string& type, const Instance& instance, nlohmann::json extra = {});
  void sample();
  int next_free_id() const;
  Instance& new_instance(App& app, int index);
  Run* find_run(pid_t pid);
  void assign_log_paths(Instance& instance) const;

  uv_loop_t* loop_;
  process::Reaper& reaper_;
  HomePaths paths_;
  // Declared first so it is destroyed last: it must outlive every InstanceOutput below.
  logs::LogManager logs_;
  std::map<std::string, std::unique_ptr<App>> apps_;       // by name
  std::map<int, std::unique_ptr<Instance>> instances_;     // by id
  std::vector<std::unique_ptr<Run>> graveyard_;            // finished runs, freed after the loop turn
  std::vector<std::unique_ptr<Instance>> deleted_;         // deleted instances, likewise
  std::vector<std::unique_ptr<App>> deleted_apps_;
  UvHandle<uv_check_t> collector_;
  UvHandle<uv_timer_t> sampler_;
  UvHandle<uv_timer_t> memory_guard_;  // max_memory_restart checks, see triggers.cpp
  std::list<std::unique_ptr<logs::InstanceOutput>> draining_;  // outputs of finished runs
  EventSink event_sink_;
  int next_worker_id_ = 1;
  process::NotifySocket notify_;
};

}  // namespace drove::supervisor
