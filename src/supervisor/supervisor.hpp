// Supervisor: owns every app and instance of the daemon, and drives the instance state
// machine: spawning, exit handling through the restart policy, graceful stops of whole process
// trees, restarts, deletion, and resource sampling. Commands come down from the RPC layer;
// events go up to subscribers. It knows nothing of sockets or terminals.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/uv_handle.hpp"
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
  std::string code;     // "ENOTFOUND", "EEXIST", "EINVAL", ...
  std::string message;
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
  void restart(const std::vector<Instance*>& instances, const std::map<std::string, std::string>* new_env, Done done);
  // Starts instances that are stopped or errored (`drove start <name>`).
  void start_existing(const std::vector<Instance*>& instances);
  void remove(const std::vector<Instance*>& instances, Done done);
  void reset_counters(const std::vector<Instance*>& instances);
  // Stops everything (daemon shutdown).
  void stop_all(Done done);

  [[nodiscard]] nlohmann::json describe(const Instance& instance, bool full) const;
  [[nodiscard]] nlohmann::json list(bool full) const;
  // Every app's spec, with whether any of its instances is meant to run (for `save`).
  [[nodiscard]] std::vector<std::pair<AppSpec, bool>> saved_state() const;

  void set_event_sink(EventSink sink) { event_sink_ = std::move(sink); }

 private:
  void start_instance(Instance& instance);
  void on_exit(Instance& instance, process::ExitStatus status);
  void begin_stop(Instance& instance);
  void poll_stopping(Instance& instance);
  void finish_stop(Instance& instance);
  void after_crash(Instance& instance);
  void schedule(Instance& instance, std::int64_t delay_ms, std::function<void()> action);
  void cancel_timer(Instance& instance);
  void set_state(Instance& instance, InstanceState state);
  void emit(const std::string& type, const Instance& instance, nlohmann::json extra = {});
  void sample();
  int next_free_id() const;
  std::vector<std::string> build_env(const Instance& instance) const;
  std::vector<std::string> build_argv(const App& app, std::string& file) const;
  void assign_log_paths(Instance& instance) const;
  void when_stopped(Instance& instance, Done done);

  uv_loop_t* loop_;
  process::Reaper& reaper_;
  HomePaths paths_;
  std::map<std::string, std::unique_ptr<App>> apps_;       // by name
  std::map<int, std::unique_ptr<Instance>> instances_;     // by id
  std::vector<std::unique_ptr<Instance>> retired_;         // deleted, freed once the loop turns
  UvHandle<uv_timer_t> sampler_;
  EventSink event_sink_;
};

}  // namespace drove::supervisor
