#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "process/proc_table.hpp"
#include "process/spawn.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/output_files.hpp"

namespace drove::supervisor {
namespace {

constexpr std::int64_t kTreePollMs = 5;
constexpr std::int64_t kTreeGiveUpAfterKillMs = 5000;
constexpr std::int64_t kSampleIntervalMs = 2000;

Instance* instance_of(uv_timer_t* timer) { return owner_of<Instance>(timer); }

}  // namespace

const char* to_string(InstanceState state) {
  switch (state) {
    case InstanceState::launching: return "launching";
    case InstanceState::online: return "online";
    case InstanceState::stopping: return "stopping";
    case InstanceState::stopped: return "stopped";
    case InstanceState::waiting_restart: return "waiting restart";
    case InstanceState::errored: return "errored";
  }
  return "unknown";
}

Supervisor::Supervisor(uv_loop_t* loop, process::Reaper& reaper, HomePaths paths)
    : loop_(loop), reaper_(reaper), paths_(std::move(paths)), sampler_(UvHandle<uv_timer_t>::make()) {
  uv_timer_init(loop_, sampler_.get());
  sampler_->data = this;
  uv_timer_start(
      sampler_.get(),
      [](uv_timer_t* t) {
        if (auto* self = owner_of<Supervisor>(t)) self->sample();
      },
      kSampleIntervalMs, kSampleIntervalMs);
  uv_unref(sampler_.handle());
}

Supervisor::~Supervisor() = default;

int Supervisor::next_free_id() const {
  int id = 0;
  for (const auto& [used, _] : instances_) {
    if (used != id) break;
    ++id;
  }
  return id;
}

std::variant<std::vector<int>, CommandError> Supervisor::add(std::vector<AppSpec> specs) {
  std::set<std::string> names;
  for (const auto& spec : specs) {
    if (apps_.count(spec.name) || !names.insert(spec.name).second) {
      return CommandError{"EEXIST", "an app named '" + spec.name + "' already exists (use restart, or delete it first)"};
    }
  }
  std::vector<int> ids;
  for (auto& spec : specs) {
    auto app = std::make_unique<App>();
    app->spec = std::move(spec);
    App* raw = app.get();
    apps_.emplace(raw->spec.name, std::move(app));
    for (int index = 0; index < raw->spec.instances; ++index) {
      auto instance = std::make_unique<Instance>();
      instance->id = next_free_id();
      instance->index = index;
      instance->app = raw;
      instance->timer = UvHandle<uv_timer_t>::make();
      uv_timer_init(loop_, instance->timer.get());
      instance->timer->data = instance.get();
      assign_log_paths(*instance);
      raw->instances.push_back(instance.get());
      ids.push_back(instance->id);
      instances_.emplace(instance->id, std::move(instance));
    }
    log_info("app '{}' added: {} instance(s), {} mode", raw->spec.name, raw->spec.instances, to_string(raw->spec.exec_mode));
    if (raw->spec.autostart) {
      for (Instance* instance : raw->instances) start_instance(*instance);
    }
  }
  return ids;
}

std::variant<std::vector<Instance*>, CommandError> Supervisor::resolve(const std::vector<std::string>& targets) {
  std::vector<Instance*> out;
  std::set<int> seen;
  auto add_instance = [&](Instance* instance) {
    if (seen.insert(instance->id).second) out.push_back(instance);
  };
  for (const auto& target : targets) {
    bool matched = false;
    if (target == "all") {
      for (auto& [_, instance] : instances_) add_instance(instance.get());
      continue;
    }
    if (!target.empty() && std::all_of(target.begin(), target.end(), ::isdigit)) {
      if (auto it = instances_.find(std::stoi(target)); it != instances_.end()) {
        add_instance(it->second.get());
        matched = true;
      }
    }
    if (auto it = apps_.find(target); it != apps_.end()) {
      for (Instance* instance : it->second->instances) add_instance(instance);
      matched = true;
    }
    if (!matched) {
      for (auto& [_, app] : apps_) {
        if (app->spec.namespace_name != target) continue;
        for (Instance* instance : app->instances) add_instance(instance);
        matched = true;
      }
    }
    if (!matched) return CommandError{"ENOTFOUND", "process or namespace '" + target + "' not found"};
  }
  std::sort(out.begin(), out.end(), [](const Instance* a, const Instance* b) { return a->id < b->id; });
  return out;
}

void Supervisor::assign_log_paths(Instance& instance) const {
  const AppSpec& spec = instance.app->spec;
  const bool per_instance = spec.exec_mode == ExecMode::cluster && !spec.merge_logs;
  instance.out_log_path = log_path_for(spec.out_file, paths_.logs_dir, spec.name, "out", per_instance, instance.id);
  instance.err_log_path = log_path_for(spec.error_file, paths_.logs_dir, spec.name, "error", per_instance, instance.id);
  instance.pid_file_path = spec.pid_file.empty()
                               ? paths_.pids_dir + "/" + file_safe_name(spec.name) + "-" + std::to_string(instance.id) + ".pid"
                               : spec.pid_file;
}

std::vector<std::string> Supervisor::build_argv(const App& app, std::string& file) const {
  return instance_argv(app.spec, file);
}

std::vector<std::string> Supervisor::build_env(const Instance& instance) const {
  return instance_env(instance);
}

void Supervisor::start_instance(Instance& instance) {
  App& app = *instance.app;
  cancel_timer(instance);
  instance.last_error.clear();
  set_state(instance, InstanceState::launching);

  std::string file;
  std::vector<std::string> argv = build_argv(app, file);
  auto outputs = open_outputs(instance, app.spec);
  if (!outputs.ok()) {
    instance.last_error = outputs.error().message();
    log_error("{}:{} cannot open its log files: {}", app.spec.name, instance.id, instance.last_error);
    set_state(instance, InstanceState::errored);
    return;
  }
  process::SpawnOptions options{
      .file = file,
      .argv = std::move(argv),
      .env = build_env(instance),
      .cwd = app.spec.cwd,
      .fds = {{1, outputs->out.get()}, {2, outputs->err.get()}},
      .new_session = true,
  };
  auto pid = process::spawn(options);
  if (!pid.ok()) {
    instance.last_error = pid.error().message();
    log_error("{}:{} failed to start: {}", app.spec.name, instance.id, instance.last_error);
    write_start_failure(*outputs, instance.last_error);
    set_state(instance, InstanceState::errored);
    emit("start_failed", instance, {{"error", instance.last_error}});
    return;
  }
  instance.pid = pid.value();
  instance.started_mono_ms = monotonic_ms();
  instance.started_at_ms = wall_ms();
  if (instance.created_at_ms == 0) instance.created_at_ms = instance.started_at_ms;
  instance.last_cpu_ticks = 0;
  instance.cpu_percent = 0;
  instance.memory_bytes = 0;
  write_pid_file(instance.pid_file_path, instance.pid);
  reaper_.watch(instance.pid, [this, &instance](process::ExitStatus status) { on_exit(instance, status); });
  set_state(instance, InstanceState::online);
}

void Supervisor::on_exit(Instance& instance, process::ExitStatus status) {
  const App& app = *instance.app;
  const std::int64_t uptime = monotonic_ms() - instance.started_mono_ms;
  instance.last_exit = status;
  remove_pid_file(instance.pid_file_path);
  const pid_t old_pid = instance.pid;
  instance.pid = 0;
  emit("exit", instance, {{"pid", old_pid}, {"code", status.code}, {"signal", status.signal ? process::signal_name(status.signal) : ""},
                          {"uptime_ms", uptime}});

  if (instance.state == InstanceState::stopping) {
    poll_stopping(instance);
    return;
  }
  log_info("{}:{} (pid {}) ended with {} after {} ms", app.spec.name, instance.id, old_pid, status.describe(), uptime);

  // Leftovers of a crashed app (its children in the same group) would hold its port: they go
  // before the replacement starts, gracefully first.
  // The group check is one syscall; the /proc scan happens only when something is left.
  if (app.spec.treekill && ::kill(-old_pid, 0) == 0) {
    process::TreeSnapshot leftovers = process::TreeSnapshot::take(old_pid);
    if (leftovers.alive()) {
      instance.tree = std::move(leftovers);
      instance.tree->signal(process::signal_from_name(app.spec.kill_signal));
      instance.stop_began_mono_ms = monotonic_ms();
      instance.killed = false;
      set_state(instance, InstanceState::stopping);
      instance.restart_after_stop = false;
      // After the leftovers are gone, the crash is handled like any other.
      instance.stop_waiters.push_back([this, &instance, uptime, status] {
        instance.last_exit = status;
        instance.started_mono_ms = monotonic_ms() - uptime;
        after_crash(instance);
      });
      poll_stopping(instance);
      return;
    }
  }
  after_crash(instance);
}

void Supervisor::after_crash(Instance& instance) {
  App& app = *instance.app;
  const std::int64_t uptime = monotonic_ms() - instance.started_mono_ms;
  RunEnd run{.exit_code = instance.last_exit && !instance.last_exit->killed_by_signal()
                              ? std::optional<int>(instance.last_exit->code) : std::nullopt,
             .uptime_ms = uptime};
  RestartDecision d = decide_restart(app.restart_policy(), run, instance.history);
  instance.history = d.next;
  switch (d.action) {
    case RestartDecision::Action::stop:
      log_info("{}:{} not restarted: {}", app.spec.name, instance.id, d.reason);
      set_state(instance, InstanceState::stopped);
      return;
    case RestartDecision::Action::errored:
      instance.last_error = d.reason;
      log_warn("{}:{} errored: {}", app.spec.name, instance.id, d.reason);
      set_state(instance, InstanceState::errored);
      return;
    case RestartDecision::Action::restart:
      ++instance.restart_time;
      if (d.delay_ms <= 0) {
        start_instance(instance);
      } else {
        set_state(instance, InstanceState::waiting_restart);
        schedule(instance, d.delay_ms, [this, &instance] {
          if (instance.state == InstanceState::waiting_restart) start_instance(instance);
        });
      }
      return;
  }
}

void Supervisor::schedule(Instance& instance, std::int64_t delay_ms, std::function<void()> action) {
  uv_timer_stop(instance.timer.get());
  instance.timer_action = std::move(action);
  uv_timer_start(
      instance.timer.get(),
      [](uv_timer_t* t) {
        Instance* self = instance_of(t);
        if (!self || !self->timer_action) return;
        auto run = self->timer_action;  // the action may reschedule (and replace) itself
        run();
      },
      static_cast<std::uint64_t>(std::max<std::int64_t>(delay_ms, 0)), 0);
}

void Supervisor::cancel_timer(Instance& instance) {
  if (instance.timer) uv_timer_stop(instance.timer.get());
  instance.timer_action = nullptr;
}

void Supervisor::when_stopped(Instance& instance, Done done) {
  instance.stop_waiters.push_back(std::move(done));
}

void Supervisor::begin_stop(Instance& instance) {
  const AppSpec& spec = instance.app->spec;
  switch (instance.state) {
    case InstanceState::stopped:
    case InstanceState::errored:
      finish_stop(instance);
      return;
    case InstanceState::waiting_restart:
      cancel_timer(instance);
      set_state(instance, InstanceState::stopped);
      finish_stop(instance);
      return;
    case InstanceState::stopping:
      return;  // already on its way; the waiter list is served when it is done
    case InstanceState::launching:
    case InstanceState::online:
      break;
  }
  set_state(instance, InstanceState::stopping);
  instance.stop_began_mono_ms = monotonic_ms();
  instance.killed = false;
  instance.tree = spec.treekill ? process::TreeSnapshot::take(instance.pid) : process::TreeSnapshot{};
  const int sig = process::signal_from_name(spec.kill_signal);
  if (spec.treekill) instance.tree->signal(sig ? sig : SIGINT);
  else ::kill(instance.pid, sig ? sig : SIGINT);
  poll_stopping(instance);
}

// Runs every few ms while an instance is stopping: SIGKILL once kill_timeout has passed, and
// "stopped" only when the main process has been reaped and the whole tree is gone.
void Supervisor::poll_stopping(Instance& instance) {
  const AppSpec& spec = instance.app->spec;
  const std::int64_t elapsed = monotonic_ms() - instance.stop_began_mono_ms;
  const bool tree_alive = spec.treekill && instance.tree && instance.tree->alive();
  if (instance.pid == 0 && !tree_alive) {
    set_state(instance, InstanceState::stopped);
    finish_stop(instance);
    return;
  }
  if (!instance.killed && elapsed >= spec.kill_timeout_ms) {
    instance.killed = true;
    log_warn("{}:{} still running {} ms after {}: sending SIGKILL", spec.name, instance.id, elapsed, spec.kill_signal);
    if (spec.treekill && instance.tree) instance.tree->signal(SIGKILL);
    if (instance.pid != 0) ::kill(instance.pid, SIGKILL);
  }
  if (instance.killed && elapsed >= spec.kill_timeout_ms + kTreeGiveUpAfterKillMs && instance.pid == 0) {
    log_error("{}:{} left processes that survive SIGKILL (uninterruptible?); reporting stopped", spec.name, instance.id);
    set_state(instance, InstanceState::stopped);
    finish_stop(instance);
    return;
  }
  // The reaper reports the main process's exit; the timer is only for the kill deadline and,
  // once the main process is gone, for watching the rest of the tree go.
  const std::int64_t until_kill = instance.killed ? kTreePollMs : std::max<std::int64_t>(1, spec.kill_timeout_ms - elapsed);
  const std::int64_t next = instance.pid != 0 ? until_kill : std::min(kTreePollMs, until_kill);
  schedule(instance, next, [this, &instance] {
    if (instance.state == InstanceState::stopping) poll_stopping(instance);
  });
}

void Supervisor::finish_stop(Instance& instance) {
  cancel_timer(instance);
  instance.tree.reset();
  auto waiters = std::move(instance.stop_waiters);
  instance.stop_waiters.clear();
  for (auto& waiter : waiters) waiter();
}

void Supervisor::stop(const std::vector<Instance*>& instances, Done done) {
  auto remaining = std::make_shared<size_t>(instances.size());
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (instances.empty()) {
    (*shared_done)();
    return;
  }
  for (Instance* instance : instances) {
    when_stopped(*instance, [remaining, shared_done] {
      if (--*remaining == 0) (*shared_done)();
    });
    begin_stop(*instance);
  }
}

void Supervisor::restart(const std::vector<Instance*>& instances, const std::map<std::string, std::string>* new_env, Done done) {
  if (new_env) {
    std::set<App*> apps;
    for (Instance* instance : instances) apps.insert(instance->app);
    for (App* app : apps) app->spec.env = *new_env;
  }
  auto remaining = std::make_shared<size_t>(instances.size());
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (instances.empty()) {
    (*shared_done)();
    return;
  }
  for (Instance* instance : instances) {
    when_stopped(*instance, [this, instance, remaining, shared_done] {
      ++instance->restart_time;
      instance->history = {};
      start_instance(*instance);
      if (--*remaining == 0) (*shared_done)();
    });
    begin_stop(*instance);
  }
}

void Supervisor::start_existing(const std::vector<Instance*>& instances) {
  for (Instance* instance : instances) {
    if (instance->state == InstanceState::stopped || instance->state == InstanceState::errored) {
      instance->history = {};
      start_instance(*instance);
    }
  }
}

void Supervisor::remove(const std::vector<Instance*>& instances, Done done) {
  stop(instances, [this, instances, done = std::move(done)] {
    for (Instance* instance : instances) {
      App* app = instance->app;
      std::erase(app->instances, instance);
      emit("delete", *instance);
      auto it = instances_.find(instance->id);
      if (it != instances_.end()) {
        it->second->app = nullptr;
        retired_.push_back(std::move(it->second));
        instances_.erase(it);
      }
      if (app->instances.empty()) apps_.erase(app->spec.name);
    }
    // Instances are freed on the next call, never inside a callback that may still be on the
    // stack with a reference to one of them.
    if (retired_.size() > 64) retired_.erase(retired_.begin(), retired_.end() - 32);
    done();
  });
}

void Supervisor::reset_counters(const std::vector<Instance*>& instances) {
  for (Instance* instance : instances) {
    instance->restart_time = 0;
    instance->history = {};
  }
}

void Supervisor::stop_all(Done done) {
  std::vector<Instance*> all;
  for (auto& [_, instance] : instances_) all.push_back(instance.get());
  stop(all, std::move(done));
}

void Supervisor::set_state(Instance& instance, InstanceState state) {
  if (instance.state == state) return;
  instance.state = state;
  emit("state", instance, {{"status", to_string(state)}});
}

void Supervisor::emit(const std::string& type, const Instance& instance, nlohmann::json extra) {
  if (!event_sink_) return;
  nlohmann::json event = {{"event", type}, {"id", instance.id}, {"name", instance.app ? instance.app->spec.name : ""},
                          {"pid", instance.pid}, {"at", wall_ms()}};
  if (extra.is_object()) event.update(extra);
  event_sink_(event);
}

void Supervisor::sample() {
  bool any = false;
  for (auto& [_, instance] : instances_) any = any || instance->pid != 0;
  if (!any) return;
  const process::ProcTable table = process::ProcTable::snapshot();
  const std::int64_t now = monotonic_ms();
  const double ticks_per_second = static_cast<double>(process::clock_ticks_per_second());
  for (auto& [_, instance] : instances_) {
    if (instance->pid == 0) continue;
    std::uint64_t ticks = 0, rss = 0;
    for (const auto& entry : table.tree(instance->pid)) {
      ticks += entry.cpu_ticks;
      rss += entry.rss_bytes;
    }
    instance->memory_bytes = rss;
    if (instance->last_sample_mono_ms != 0 && instance->last_cpu_ticks != 0 && ticks >= instance->last_cpu_ticks) {
      const double seconds = static_cast<double>(now - instance->last_sample_mono_ms) / 1000.0;
      if (seconds > 0) {
        instance->cpu_percent = static_cast<double>(ticks - instance->last_cpu_ticks) / ticks_per_second / seconds * 100.0;
      }
    }
    instance->last_cpu_ticks = ticks;
    instance->last_sample_mono_ms = now;
  }
}

std::vector<std::pair<AppSpec, bool>> Supervisor::saved_state() const {
  std::vector<std::pair<AppSpec, bool>> out;
  for (const auto& [_, app] : apps_) {
    bool running = false;
    for (const Instance* i : app->instances) {
      running = running || (i->state != InstanceState::stopped && i->state != InstanceState::errored);
    }
    out.emplace_back(app->spec, running);
  }
  return out;
}

nlohmann::json Supervisor::describe(const Instance& instance, bool full) const {
  const AppSpec& spec = instance.app->spec;
  nlohmann::json j = {
      {"id", instance.id},
      {"name", spec.name},
      {"namespace", spec.namespace_name},
      {"index", instance.index},
      {"pid", instance.pid},
      {"status", to_string(instance.state)},
      {"exec_mode", to_string(spec.exec_mode)},
      {"instances", spec.instances},
      {"restart_time", instance.restart_time},
      {"unstable_restarts", instance.history.unstable_restarts},
      {"created_at", instance.created_at_ms},
      {"started_at", instance.started_at_ms},
      {"cpu", instance.cpu_percent},
      {"memory", instance.memory_bytes},
      {"user", spec.uid.value_or("")},
      {"out_log_path", instance.out_log_path},
      {"err_log_path", instance.err_log_path},
      {"pid_path", instance.pid_file_path},
      {"exec_path", spec.exec_path},
      {"interpreter", spec.interpreter},
      {"cwd", spec.cwd},
      {"last_error", instance.last_error},
  };
  if (instance.last_exit) {
    j["last_exit"] = {{"code", instance.last_exit->code},
                      {"signal", instance.last_exit->signal ? process::signal_name(instance.last_exit->signal) : ""}};
  }
  if (full) j["spec"] = spec;
  return j;
}

nlohmann::json Supervisor::list(bool full) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [_, instance] : instances_) out.push_back(describe(*instance, full));
  return out;
}

}  // namespace drove::supervisor
