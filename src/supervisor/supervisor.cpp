// Supervisor commands and queries: adding apps, resolving targets, stop/restart/delete,
// describing, sampling. Process lifecycles are in lifecycle.cpp, rolling reload in reload.cpp.
#include "supervisor/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <regex>
#include <set>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "base/off_loop.hpp"
#include "config/app_environment.hpp"
#include "process/proc_table.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/output_files.hpp"
#include "supervisor/output_spec_for_app.hpp"
#include "supervisor/spec_validator.hpp"

namespace drove::supervisor {
namespace {

// max_memory_restart: how often the trees of apps with a limit are measured (PM2: 30 s). The
// check reads /proc only when some app has a limit.
constexpr std::int64_t kMemoryCheckIntervalMs = 1000;

}  // namespace

Supervisor::Supervisor(uv_loop_t* loop, process::Reaper& reaper, HomePaths paths)
    : loop_(loop),
      reaper_(reaper),
      paths_(std::move(paths)),
      proc_table_(loop),
      logs_(loop),
      collector_(UvHandle<uv_check_t>::make()),
      starts_(loop, "queued starts", [this](int id) { start_queued(id); }),
      stops_(
          loop, "queued stops", [this](int id) { stop_queued(id); }, TurnQueue::kDefaultBudgetMs,
          [this] {
            if (!cgroups_) (void)proc_table_.get();  // the snapshot the batch's stops share
          }),
      sampler_(UvHandle<uv_timer_t>::make()),
      memory_guard_(UvHandle<uv_timer_t>::make()),
      notify_(loop, [this](pid_t sender, const std::map<std::string, std::string>& fields) {
        // sd_notify: READY=1 from a process of an app's run marks that run ready; any other
        // sender (the socket is reachable by every local user) is ignored.
        if (auto it = fields.find("READY"); it != fields.end() && it->second == "1") {
          if (Run* run = find_notifying_run(sender)) {
            run->said_ready = true;
            check_ready(*run);
          }
        }
      }) {
  if (auto s = notify_.bind_abstract(); !s.ok()) log_warn("sd_notify disabled: {}", s.error().message());
  if (auto root = process::CgroupRoot::create(); root.ok()) {
    cgroups_ = std::move(root.value());
    log_info("process trees: one cgroup per run under {}", cgroups_->path());
  } else {
    log_info("process trees: tracked through /proc and pidfds (no cgroups: {})", root.error().message());
  }
  uv_check_init(loop_, collector_.get());
  collector_->data = this;
  uv_unref(collector_.handle());
  uv_timer_init(loop_, sampler_.get());
  sampler_->data = this;
  uv_timer_start(
      sampler_.get(),
      [](uv_timer_t* t) {
        loop_barrier("resource sampler", [t] {
          if (auto* self = owner_of<Supervisor>(t)) self->sample();
        });
      },
      paths_.sample_interval_ms, paths_.sample_interval_ms);
  uv_unref(sampler_.handle());
  uv_timer_init(loop_, memory_guard_.get());
  memory_guard_->data = this;
  uv_timer_start(
      memory_guard_.get(),
      [](uv_timer_t* t) {
        if (auto* self = owner_of<Supervisor>(t)) self->check_memory();
      },
      kMemoryCheckIntervalMs, kMemoryCheckIntervalMs);
  uv_unref(memory_guard_.handle());
}

Supervisor::~Supervisor() = default;

// The run a notify datagram's sender belongs to: the run's main process, or a process in its
// session (each run starts in a session of its own, led by its main pid, so e.g. a shell
// script's `python3 -c ...` child may speak for it, like systemd's NotifyAccess=all within the
// service). A session id is the leader's pid, and the leader is our unreaped child, so no
// unrelated process can carry it. The sender's pid comes from the kernel (SCM_CREDENTIALS).
Run* Supervisor::find_notifying_run(pid_t sender) {
  if (sender <= 0) return nullptr;
  if (Run* run = find_run(sender)) return run;
  const pid_t session = ::getsid(sender);
  return session > 0 ? find_run(session) : nullptr;
}

Run* Supervisor::find_run(pid_t pid) {
  for (auto& [_, instance] : instances_) {
    if (instance->run && instance->run->pid == pid) return instance->run.get();
    if (instance->incoming && instance->incoming->pid == pid) return instance->incoming.get();
  }
  return nullptr;
}

int Supervisor::next_free_id() {
  if (!released_ids_.empty()) {
    const int id = *released_ids_.begin();
    released_ids_.erase(released_ids_.begin());
    return id;
  }
  return next_id_++;
}

void Supervisor::release_id(int id) {
  if (id == next_id_ - 1) {
    // Keep the set small: give back the top of the range, and any free ids just below it.
    --next_id_;
    while (!released_ids_.empty() && *released_ids_.rbegin() == next_id_ - 1) {
      released_ids_.erase(std::prev(released_ids_.end()));
      --next_id_;
    }
  } else {
    released_ids_.insert(id);
  }
}

CommandResult<std::vector<int>> Supervisor::add(std::vector<AppSpec> specs, bool force) {
  // Whatever sent these specs (our CLI, a dump, any client of the socket), the daemon checks them.
  std::set<std::string> names;
  std::map<std::string, std::string> on_disk;
  for (const auto& [name, _] : apps_) on_disk.emplace(file_safe_name(name), name);
  int total = static_cast<int>(instances_.size());
  for (const auto& spec : specs) {
    if (auto why = validate_spec(spec)) return CommandError{ErrorCode::invalid, *why};
    if (!force && (apps_.count(spec.name) || !names.insert(spec.name).second)) {
      return CommandError{ErrorCode::exists,
                          "an app named '" + spec.name + "' already exists (use restart, or delete it first)"};
    }
    if (auto why = check_disk_name(spec.name, on_disk)) return CommandError{ErrorCode::exists, *why};
    on_disk.emplace(file_safe_name(spec.name), spec.name);
    if (auto why = check_instance_caps(spec.name, 0, spec.instances, total))
      return CommandError{ErrorCode::too_big, *why};
    total += spec.instances;
  }
  std::vector<int> ids;
  for (auto& spec : specs) {
    App* raw = &register_app(std::move(spec));
    for (int index : free_indexes(*raw, raw->spec.instances)) ids.push_back(new_instance(*raw, index).id);
    log_info("app '{}' added: {} instance(s), {} mode", raw->spec.name, raw->spec.instances,
             to_string(raw->spec.exec_mode));
    if (raw->spec.autostart) {
      // The first instance starts now, so that `start` reports a failure to start (unknown
      // user, missing script) in its reply; the others are queued and started a batch per
      // loop turn (`start -i 1000` used to hold the loop, and every app's accepts, for 19 s).
      // The reply waits until each queued one has been launched (starts_pending).
      bool first = true;
      for (Instance* instance : raw->instances) {
        if (first)
          start_instance(*instance);
        else
          queue_start(*instance);
        first = false;
      }
    }
    start_triggers(*raw);
  }
  return ids;
}

App& Supervisor::register_app(AppSpec spec) {
  auto app = std::make_unique<App>();
  app->spec = std::move(spec);
  App* raw = app.get();
  raw->autoscaling.memory.last_change_ms = monotonic_ms();
  raw->cron_timer.init(loop_);
  raw->watch_timer.init(loop_);
  if (holds_sockets(*raw)) create_primary(*raw);
  apps_.emplace(raw->spec.name, std::move(app));
  return *raw;
}

Instance& Supervisor::new_instance(App& app, int index) {
  auto instance = std::make_unique<Instance>();
  instance->id = next_free_id();
  instance->index = index;
  instance->app = &app;
  instance->restart_timer.init(loop_);
  instance->usage_history.set_capacity(paths_.history_samples);
  assign_log_paths(*instance);
  Instance& ref = *instance;
  app.instances.push_back(&ref);
  instances_.emplace(ref.id, std::move(instance));
  return ref;
}

CommandStatus Supervisor::scale(const std::string& name, const std::string& count, Done done) {
  auto it = apps_.find(name);
  if (it == apps_.end()) return CommandError{ErrorCode::not_found, "app '" + name + "' not found"};
  App& app = *it->second;
  if (count == "auto") {
    if (!app.spec.autoscale) {
      return CommandError{ErrorCode::invalid,
                          "app '" + name + "' is not autoscaled (start it with --max-instances, or scale it to N)"};
    }
    if (app.spec.autoscale->paused) {
      app.spec.autoscale->paused = false;
      // The next decision starts afresh: a scale-down still waits scale_down_delay from now.
      app.autoscaling.memory = AutoscaleMemory{.last_change_ms = monotonic_ms()};
      const int n = static_cast<int>(app.instances.size());
      record_scale(app, ScaleRecord{wall_ms(), "resumed", n, n, "drove scale " + name + " auto"});
    }
    done();
    return Ok{};
  }
  const int current = static_cast<int>(app.instances.size());
  int target = 0;
  try {
    size_t used = 0;
    const long long n = std::stoll(count, &used);
    if (used != count.size()) throw std::invalid_argument(count);
    const long long wanted = (count[0] == '+' || count[0] == '-') ? current + n : n;
    // Any int: the cap check below refuses what is too many, naming the number asked for.
    target = static_cast<int>(std::clamp<long long>(wanted, -1, std::numeric_limits<int>::max()));
  } catch (const std::exception&) {
    return CommandError{ErrorCode::invalid, "invalid instance count '" + count + "': expected N, +N, -N or auto"};
  }
  if (target < 1)
    return CommandError{ErrorCode::invalid, "cannot scale '" + name + "' below 1 instance (use stop or delete)"};
  if (auto why = check_instance_caps(name, current, target, static_cast<int>(instances_.size()))) {
    return CommandError{ErrorCode::too_big, *why};
  }
  if (app.spec.autoscale && !app.spec.autoscale->paused) {
    // A count by hand wins until `scale <app> auto` (docs/cluster.md): autoscaling would undo it.
    app.spec.autoscale->paused = true;
    record_scale(app, ScaleRecord{wall_ms(), "paused", current, target, "drove scale " + name + " " + count});
  }
  scale_app(app, target, std::move(done));
  return Ok{};
}

void Supervisor::scale_app(App& app, int target, Done done) {
  const int current = static_cast<int>(app.instances.size());
  app.spec.instances = target;
  app.spec.instances_requested = std::to_string(target);
  if (target >= current) {
    for (int index : free_indexes(app, target - current)) queue_start(new_instance(app, index));
    done();
    return;
  }
  // As PM2: the oldest instances go (app.instances is in creation order), and their numbers
  // (NODE_APP_INSTANCE) are the first a later scale up takes again.
  std::vector<Instance*> surplus(app.instances.begin(), app.instances.begin() + (current - target));
  std::vector<int> slots;
  for (Instance* i : surplus) slots.push_back(i->index);
  const std::string name = app.spec.name;
  remove(surplus, [this, name, slots, done = std::move(done)] {
    if (auto again = apps_.find(name); again != apps_.end() && again->second->primary) {
      for (int slot : slots) again->second->primary->release_slot(slot);
    }
    done();
  });
}

// PM2's injectVariables: a new instance takes the lowest number no process of that name holds
// (apps added with -f share the name, and the numbering). The `count` lowest free numbers in
// one pass: asking for each new instance in turn made `scale +1000` quadratic (70 ms of loop).
std::vector<int> Supervisor::free_indexes(const App& app, int count) const {
  std::vector<int> used;
  for (auto [it, end] = apps_.equal_range(app.spec.name); it != end; ++it) {
    for (const Instance* i : it->second->instances) used.push_back(i->index);
  }
  for (const Instance* i : app.instances) used.push_back(i->index);
  std::sort(used.begin(), used.end());
  std::vector<int> out;
  out.reserve(static_cast<std::size_t>(std::max(count, 0)));
  auto taken = used.begin();
  for (int index = 0; static_cast<int>(out.size()) < count; ++index) {
    while (taken != used.end() && *taken < index) ++taken;
    if (taken != used.end() && *taken == index) continue;
    out.push_back(index);
  }
  return out;
}

// Targets as PM2 resolves them (API._operate, Client.getProcessIdByName): 'all'; /regex/ on
// names; a number is an app of that name if there is one, else a pm_id; a name, or the
// absolute path of an app's script (the CLI resolves `stop echo.js` against its cwd); a
// namespace. A target that matches nothing is an error, 'all' with no app included.
CommandResult<std::vector<Instance*>> Supervisor::resolve(const std::vector<std::string>& targets,
                                                          const std::string& cwd) {
  std::vector<Instance*> out;
  std::set<int> seen;
  auto add_instance = [&](Instance* instance) {
    if (seen.insert(instance->id).second) out.push_back(instance);
  };
  for (const auto& target : targets) {
    bool matched = false;
    auto add_app = [&](const App& app) {
      for (Instance* instance : app.instances) add_instance(instance);
      matched = matched || !app.instances.empty();
    };
    if (target == "all") {
      for (auto& [_, instance] : instances_) add_instance(instance.get());
      if (instances_.empty()) return CommandError{ErrorCode::not_found, "no process found: drove manages no app"};
      continue;
    }
    if (target.size() > 2 && target.front() == '/' && target.back() == '/') {
      std::regex pattern;
      try {
        pattern = std::regex(target.substr(1, target.size() - 2), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return CommandError{ErrorCode::invalid, "invalid regular expression " + target + ": " + e.what()};
      }
      for (auto& [name, app] : apps_) {
        if (std::regex_search(name, pattern)) add_app(*app);
      }
      if (!matched) return CommandError{ErrorCode::not_found, "no app name matches " + target};
      continue;
    }
    for (auto [it, end] = apps_.equal_range(target); it != end; ++it) add_app(*it->second);
    const bool numeric = !target.empty() && target.size() < 10 && std::all_of(target.begin(), target.end(), ::isdigit);
    if (!matched && numeric) {
      if (auto it = instances_.find(std::stoi(target)); it != instances_.end()) {
        add_instance(it->second.get());
        matched = true;
      }
    }
    if (!matched && !target.empty() && (target.front() == '/' || !cwd.empty())) {
      // Lexically only: the daemon never looks at the caller's files.
      const std::string path = (std::filesystem::path(cwd) / target).lexically_normal().string();
      for (auto& [_, app] : apps_) {
        if (app->spec.exec_path == path) add_app(*app);
      }
    }
    if (!matched) {
      for (auto& [_, app] : apps_) {
        if (app->spec.namespace_name == target) add_app(*app);
      }
    }
    if (!matched) return CommandError{ErrorCode::not_found, "process or namespace '" + target + "' not found"};
  }
  std::sort(out.begin(), out.end(), [](const Instance* a, const Instance* b) { return a->id < b->id; });
  return out;
}

CommandStatus Supervisor::send_signal(const std::vector<Instance*>& instances, int signal) {
  std::vector<const Run*> runs;
  for (Instance* instance : instances) {
    // While the run's pid is set the reaper has not collected it: the pid is still this process.
    if (instance->pid() == 0) {
      return CommandError{ErrorCode::not_running, "process " + std::to_string(instance->id) + " (" +
                                                      instance->app->spec.name + ") is not running"};
    }
    runs.push_back(instance->run.get());
  }
  for (const Run* run : runs) {
    if (!run->signal_main(signal))
      return CommandError{ErrorCode::io, "cannot signal pid " + std::to_string(run->pid) + ": " + std::strerror(errno)};
  }
  return Ok{};
}

void Supervisor::assign_log_paths(Instance& instance) const {
  const AppSpec& spec = instance.app->spec;
  instance.output_spec = output_spec_for(spec, instance.id, paths_.default_log_files ? paths_.logs_dir : "");
  instance.pid_file_path = spec.pid_file.empty() ? paths_.pids_dir + "/" + file_safe_name(spec.name) + "-" +
                                                       std::to_string(instance.id) + ".pid"
                                                 : spec.pid_file;
}

void Supervisor::stop(const std::vector<Instance*>& instances, Done done) {
  auto remaining = std::make_shared<size_t>(instances.size());
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (instances.empty()) return (*shared_done)();
  for (Instance* instance : instances) {
    instance->stop_requested = true;
    instance->stop_waiters.push_back([remaining, shared_done] {
      if (--*remaining == 0) (*shared_done)();
    });
  }
  begin_stops(instances);
}

// The first stops begin now while they fit in the loop turn's budget, the rest in later turns
// (queue_stop); in order: once one waits for its turn, the others queue behind it.
void Supervisor::begin_stops(const std::vector<Instance*>& instances) {
  std::map<App*, std::vector<int>> reloading;
  for (Instance* instance : instances) {
    if (instance->app->reload && instance->app->reload->active()) reloading[instance->app].push_back(instance->id);
  }
  for (auto& [app, ids] : reloading) app->reload->forget(ids);
  const std::int64_t began = monotonic_ms();
  for (Instance* instance : instances) {
    instance->stop_queued = true;
    (void)stops_.push_or_run(instance->id, began);
  }
}

void Supervisor::update_env(const std::vector<Instance*>& instances, const EnvUpdate& update) {
  std::set<App*> apps;
  for (Instance* instance : instances) apps.insert(instance->app);
  for (App* app : apps) {
    if (update.shell) {
      for (const auto& [key, value] : *update.shell) {
        // The caller's shell, like at start: only the allow-list reaches an app run as another user.
        if (app->spec.uid && !config::reaches_other_user(key)) continue;
        app->spec.env[key] = value;
        app->spec.numeric_env.erase(key);  // the shell's values are text
      }
    }
    if (auto it = update.declared.find(app->spec.name); it != update.declared.end()) {
      for (const auto& [key, value] : it->second) app->spec.env[key] = value;
    }
  }
}

void Supervisor::restart(const std::vector<Instance*>& instances, Done done) {
  auto remaining = std::make_shared<size_t>(instances.size());
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (instances.empty()) return (*shared_done)();
  for (Instance* instance : instances) {
    instance->stop_requested = false;
    instance->stop_waiters.push_back([this, instance, remaining, shared_done] {
      if (instance->stop_requested) {  // stopped by the user meanwhile: stays stopped
        if (--*remaining == 0) (*shared_done)();
        return;
      }
      ++instance->restart_time;
      instance->history = {};
      // Queued: exits of hundreds of instances are reaped in one turn, and spawning them all
      // there would hold every other app's accepts meanwhile (see queue_start).
      queue_start(*instance);
      if (--*remaining == 0) (*shared_done)();
    });
  }
  begin_stops(instances);
}

// PM2's restart with options (`start <script>` of an app that exists, `restart <file>`):
// the new options replace the app's, except what a restart cannot change: the number of
// instances and the exec mode (PM2's _handleAttributeUpdate drops exec_mode too), and the
// environment, which only update_env() changes (PM2 merges into the app's env, never resets it).
CommandStatus Supervisor::replace_spec(AppSpec spec) {
  auto it = apps_.find(spec.name);
  if (it == apps_.end()) return CommandError{ErrorCode::not_found, "app '" + spec.name + "' not found"};
  App& app = *it->second;
  spec.instances = static_cast<int>(app.instances.size());
  spec.instances_requested = app.spec.instances_requested;
  spec.exec_mode = app.spec.exec_mode;
  spec.env = app.spec.env;
  spec.numeric_env.insert(app.spec.numeric_env.begin(), app.spec.numeric_env.end());
  // Checked as a start's spec is: whoever sent it, the daemon runs only what it can.
  if (auto why = validate_spec(spec)) return CommandError{ErrorCode::invalid, *why};
  // Timers and watches follow the new options (cron_restart, watch, ignore_watch, watch_delay).
  stop_triggers(app);
  app.spec = std::move(spec);
  if (!app.primary && holds_sockets(app)) create_primary(app);
  for (Instance* instance : app.instances) assign_log_paths(*instance);
  start_triggers(app);
  return Ok{};
}

// PM2's `restart <app> --name <new>`: the app goes on under the new name (its log and pid
// files follow it), checked as a new app's name is.
CommandStatus Supervisor::rename_app(const std::string& from, const std::string& to) {
  if (from == to) return Ok{};
  auto it = apps_.find(from);
  if (it == apps_.end()) return CommandError{ErrorCode::not_found, "app '" + from + "' not found"};
  if (apps_.count(from) > 1)
    return CommandError{ErrorCode::invalid,
                        "several apps are named '" + from + "' (start -f): delete the extra ones first"};
  if (apps_.count(to)) return CommandError{ErrorCode::exists, "an app named '" + to + "' already exists"};
  AppSpec renamed = it->second->spec;
  renamed.name = to;
  if (auto why = validate_spec(renamed)) return CommandError{ErrorCode::invalid, *why};
  std::map<std::string, std::string> on_disk;
  for (const auto& [name, _] : apps_) {
    if (name != from) on_disk.emplace(file_safe_name(name), name);
  }
  if (auto why = check_disk_name(to, on_disk)) return CommandError{ErrorCode::exists, *why};
  auto node = apps_.extract(it);
  node.key() = to;
  App& app = *node.mapped();
  app.spec.name = to;
  apps_.insert(std::move(node));
  for (Instance* instance : app.instances) assign_log_paths(*instance);
  log_info("app '{}' renamed '{}'", from, to);
  return Ok{};
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
  std::vector<int> ids;
  for (Instance* instance : instances) ids.push_back(instance->id);
  stop(instances, [this, ids, done = std::move(done)] {
    for (int id : ids) {
      auto it = instances_.find(id);
      if (it == instances_.end()) continue;
      Instance* instance = it->second.get();
      App* app = instance->app;
      std::erase(app->instances, instance);
      emit(*instance, events::Deleted{});
      deleted_.push_back(std::move(it->second));
      instances_.erase(it);
      release_id(id);
      if (app->instances.empty()) {
        // The port closes now: a deleted app must not keep accepting connections.
        if (app->primary) {
          // A primary shared with other apps keeps the sockets their workers hold.
          if (app->primary.use_count() > 1)
            app->primary->close_unheld();
          else
            app->primary->close_all();
        }
        stop_triggers(*app);
        for (auto [entry, end] = apps_.equal_range(app->spec.name); entry != end; ++entry) {
          if (entry->second.get() != app) continue;
          deleted_apps_.push_back(std::move(apps_.extract(entry).mapped()));
          break;
        }
      }
    }
    collect_later();
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

void Supervisor::transition(Instance& instance, InstanceEvent event) {
  const auto next = next_state(instance.state, event);
  if (!next) {
    log_error("internal: {}:{} got '{}' while {}; state kept", instance.app ? instance.app->spec.name : "", instance.id,
              to_string(event), to_string(instance.state));
    return;
  }
  if (instance.state == *next) return;
  instance.state = *next;
  emit(instance, events::StateChanged{*next});
}

void Supervisor::emit(const Instance& instance, EventData data) {
  if (!event_sink_) return;
  event_sink_(
      Event{instance.id, instance.app ? instance.app->spec.name : "", instance.pid(), wall_ms(), std::move(data)});
}

void Supervisor::emit_app(const App& app, EventData data) {
  if (event_sink_) event_sink_(Event{-1, app.spec.name, 0, wall_ms(), std::move(data)});
}

// Reading /proc costs tens of microseconds per process: with 1,000 apps a snapshot held the
// loop for tens of milliseconds every sampling period. It is read on a pool thread; the loop only
// adds up each instance's tree. An instance whose process changed meanwhile waits for the next.
void Supervisor::sample() {
  if (sampling_) return;
  std::vector<std::pair<int, pid_t>> sampled;
  for (auto& [id, instance] : instances_) {
    if (instance->pid() != 0) sampled.emplace_back(id, instance->pid());
  }
  if (sampled.empty()) return;
  // The snapshot, and each sampled tree's descriptors and private memory, all off the loop.
  struct Sample {
    process::ProcTable table;
    std::vector<process::Footprint> footprints;  // by position in `sampled`
  };
  // Descriptors and private memory cost two more reads per process (bench scenario 14: 1,000
  // instances went from 1.0 % to 2.5 % of a core when read every second); they change slowly,
  // so they are read every kFootprintEvery-th sample.
  const bool footprints = footprint_countdown_-- == 0;
  if (footprints) footprint_countdown_ = kFootprintEvery - 1;
  auto take = [sampled, footprints] {
    Sample sample{process::ProcTable::snapshot(), {}};
    if (!footprints) return sample;
    sample.footprints.reserve(sampled.size());
    for (const auto& [id, pid] : sampled) {
      process::Footprint sum;
      for (const auto& entry : sample.table.tree(pid)) sum += process::footprint_of(entry.pid);
      sample.footprints.push_back(sum);
    }
    return sample;
  };
  sampling_ = true;
  auto done = [this, alive = std::weak_ptr<int>(alive_), sampled](const Sample& sample) {
    if (alive.expired()) return;
    sampling_ = false;
    apply_sample(sample.table, sampled, sample.footprints);
  };
  if (!run_off_loop(loop_, "resource sample", take, done)) done(take());
}

// Reads /proc on a pool thread; `apply` gets the snapshot on the loop (at once, if the pool
// refuses). `busy` is set meanwhile, so that a slow read is not queued twice.
void Supervisor::read_proc_off_loop(const char* what, bool& busy,
                                    std::function<void(const process::ProcTable&)> apply) {
  busy = true;
  auto done = [alive = std::weak_ptr<int>(alive_), &busy, apply = std::move(apply)](const process::ProcTable& table) {
    if (alive.expired()) return;
    busy = false;
    apply(table);
  };
  if (!run_off_loop(
          loop_, what, [] { return process::ProcTable::snapshot(); }, done))
    done(process::ProcTable::snapshot());
}

void Supervisor::apply_sample(const process::ProcTable& table, const std::vector<std::pair<int, pid_t>>& sampled,
                              const std::vector<process::Footprint>& footprints) {
  const std::int64_t now = monotonic_ms();
  const std::int64_t wall = wall_ms();
  const double ticks_per_second = static_cast<double>(process::clock_ticks_per_second());
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    const auto& [id, pid] = sampled[i];
    auto found = instances_.find(id);
    if (found == instances_.end() || found->second->pid() != pid) continue;
    Instance* instance = found->second.get();
    std::uint64_t ticks = 0, rss = 0;
    std::uint32_t threads = 0;
    std::size_t processes = 0;
    for (const auto& entry : table.tree(pid)) {
      ticks += entry.cpu_ticks;
      rss += entry.rss_bytes;
      threads += entry.threads;
      ++processes;
    }
    instance->memory_bytes = rss;
    instance->threads = threads;
    instance->tree_processes = static_cast<std::uint32_t>(processes);
    if (i < footprints.size()) {
      instance->private_memory_bytes = footprints[i].private_bytes;
      instance->open_fds = footprints[i].fds;
    }
    if (instance->last_sample_mono_ms != 0 && instance->last_cpu_ticks != 0 && ticks >= instance->last_cpu_ticks) {
      const double seconds = static_cast<double>(now - instance->last_sample_mono_ms) / 1000.0;
      if (seconds > 0) {
        instance->cpu_percent =
            static_cast<double>(ticks - instance->last_cpu_ticks) / ticks_per_second / seconds * 100.0;
      }
    }
    instance->last_cpu_ticks = ticks;
    instance->last_sample_mono_ms = now;
    instance->usage_history.push(instance->cpu_percent, rss, wall);
  }
  autoscale_all();
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

const char* to_string(TreeKill how) { return how == TreeKill::cgroup ? "cgroup" : "pidfd"; }

ProcessView Supervisor::row(const Instance& instance) const {
  const AppSpec& spec = instance.app->spec;
  ProcessView v{.id = instance.id,
                .index = instance.index,
                .name = spec.name,
                .namespace_name = spec.namespace_name,
                .pid = instance.pid(),
                .state = instance.state,
                .exec_mode = spec.exec_mode,
                .restart_time = instance.restart_time,
                .started_at_ms = instance.run ? instance.run->started_at_ms : 0,
                .cpu_percent = instance.cpu_percent,
                .memory_bytes = instance.memory_bytes,
                .private_memory_bytes = instance.private_memory_bytes,
                .open_fds = instance.open_fds,
                .threads = instance.threads,
                .tree_processes = instance.tree_processes,
                .last_replacement_ready_ms = instance.last_replacement_ready_ms,
                .last_retirement_ms = instance.last_retirement_ms,
                .user = spec.uid.value_or(""),
                .last_error = instance.last_error};
  // @pm2/io's metrics are in the row: monit and metrics show them (most apps have none).
  if (instance.run && !instance.run->axm_monitor.empty()) v.app_metrics = instance.run->axm_monitor;
  return v;
}

ProcessView Supervisor::view(const Instance& instance) const {
  const AppSpec& spec = instance.app->spec;
  ProcessView v = row(instance);
  v.instances = spec.instances;
  v.unstable_restarts = instance.history.unstable_restarts;
  v.created_at_ms = instance.created_at_ms;
  v.out_log_path = instance.output_spec.out_path;
  v.err_log_path = instance.output_spec.err_path;
  v.log_path = instance.output_spec.combined_path;
  v.pid_path = instance.pid_file_path;
  v.exec_path = spec.exec_path;
  v.interpreter = spec.interpreter;
  v.cwd = spec.cwd;
  v.last_restart_reason = instance.last_restart_reason;
  v.watching = instance.app->watcher != nullptr;
  v.dropped_messages = instance.dropped_messages;
  v.last_dropped_reason = instance.last_dropped_reason;
  const bool by_cgroup = instance.run ? instance.run->cgroup != nullptr : cgroups_ != nullptr;
  v.tree_kill = by_cgroup ? TreeKill::cgroup : TreeKill::pidfd;
  v.last_exit = instance.last_exit;
  v.exits.assign(instance.exits.begin(), instance.exits.end());
  if (instance.run) v.app_actions = instance.run->axm_actions;
  return v;
}

std::vector<const Instance*> Supervisor::instances() const {
  std::vector<const Instance*> out;
  out.reserve(instances_.size());
  for (const auto& [_, instance] : instances_) out.push_back(instance.get());
  return out;
}

bool Supervisor::any_launching(const std::vector<int>& ids) const {
  for (const int id : ids) {
    if (auto it = instances_.find(id); it != instances_.end() && it->second->state == InstanceState::launching)
      return true;
  }
  return false;
}

bool Supervisor::starts_pending(const std::vector<int>& ids) const {
  for (const int id : ids) {
    if (auto it = instances_.find(id); it != instances_.end() && it->second->start_queued) return true;
  }
  return false;
}

Instance* Supervisor::find_instance(int id) const {
  auto it = instances_.find(id);
  return it == instances_.end() ? nullptr : it->second.get();
}

}  // namespace drove::supervisor
