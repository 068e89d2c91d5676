// Restarts the daemon decides on its own: `cron_restart` (a timer per app, next firing time
// from cron_schedule), `watch` (an inotify FileWatcher per app, debounced by watch_delay) and
// `max_memory_restart` (the whole process tree's RSS, checked every kMemoryCheckIntervalMs
// where PM2 checks every 30 s). Each says why in the log, an event and `describe`.
#include <algorithm>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "process/proc_table.hpp"
#include "supervisor/cron_schedule.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {
namespace {

// A cron timer never sleeps longer than this: the wall clock may jump (NTP, suspend, a DST
// change) while libuv's timers run on the monotonic clock, so it re-checks at least this often.
constexpr std::int64_t kCronMaxSleepMs = 60'000;

bool is_running(const Instance& instance) {
  return instance.state == InstanceState::online || instance.state == InstanceState::launching ||
         instance.state == InstanceState::waiting_restart;
}

std::string megabytes(std::uint64_t bytes) { return std::to_string((bytes + 512 * 1024) / (1024 * 1024)) + " MB"; }

}  // namespace

void Supervisor::start_triggers(App& app) {
  arm_cron(app);
  if (app.spec.watch) enable_watch(app);
}

void Supervisor::stop_triggers(App& app) {
  app.cron_timer.cancel();
  disable_watch(app);
}

void Supervisor::restart_for(App& app, const std::vector<Instance*>& instances, const std::string& reason, Done done) {
  if (instances.empty()) return done();
  for (Instance* instance : instances) {
    instance->last_restart_reason = reason;
    emit(*instance, events::Restart{reason});
  }
  log_info("app '{}': restarting {} instance(s): {}", app.spec.name, instances.size(), reason);
  // Cluster apps with daemon-held sockets are replaced instance by instance (reload), so no
  // connection is refused; fork apps restart (reload() falls back to that by itself). A reload
  // that cannot run or fails (already reloading, replacement never ready) becomes a restart.
  auto shared_done = std::make_shared<Done>(std::move(done));
  const std::string name = app.spec.name;
  auto fallback = [this, name, shared_done](const std::string& why) {
    auto it = apps_.find(name);
    if (it == apps_.end()) return (*shared_done)();
    std::vector<Instance*> running;
    for (Instance* instance : it->second->instances) {
      if (is_running(*instance)) running.push_back(instance);
    }
    log_warn("app '{}': reload failed ({}), restarting instead", name, why);
    restart(running, [shared_done] { (*shared_done)(); });
  };
  auto reloading = reload(instances, 1, [shared_done, fallback](const std::vector<ReloadOutcome>& outcomes) {
    for (const auto& outcome : outcomes) {
      if (!outcome.ok) return fallback(outcome.message);
    }
    (*shared_done)();
  });
  if (!reloading) fallback(reloading.error().message);
}

// --- cron_restart

void Supervisor::arm_cron(App& app) {
  app.cron_timer.cancel();
  if (app.spec.cron_restart.empty()) return;
  auto parsed = parse_cron(app.spec.cron_restart);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    log_error("app '{}': cron_restart '{}' not armed: {}", app.spec.name, app.spec.cron_restart, *why);
    return;
  }
  const auto schedule = std::get<CronSchedule>(parsed);
  const std::int64_t now_ms = wall_ms();
  const auto fire_s = next_cron_fire(schedule, now_ms / 1000, CronZone::local);
  if (!fire_s) {
    log_warn("app '{}': cron_restart '{}' never fires", app.spec.name, app.spec.cron_restart);
    return;
  }
  const std::int64_t fire_ms = *fire_s * 1000;
  const std::string name = app.spec.name;
  auto wake = [this, name, fire_ms] {
    auto it = apps_.find(name);
    if (it == apps_.end()) return;
    App& target = *it->second;
    if (wall_ms() < fire_ms) {
      // Woke early (long sleeps are capped) or the clock moved back: sleep again.
      target.cron_timer.start(std::min(fire_ms - wall_ms(), kCronMaxSleepMs), target.cron_timer.action);
      return;
    }
    std::vector<Instance*> running;
    for (Instance* instance : target.instances) {
      if (is_running(*instance)) running.push_back(instance);
    }
    // Re-armed first: the next firing does not depend on how long this restart takes.
    arm_cron(target);
    restart_for(target, running, "cron_restart '" + target.spec.cron_restart + "'", [] {});
  };
  app.cron_timer.start(std::min(fire_ms - now_ms, kCronMaxSleepMs), wake);
}

// --- watch

void Supervisor::enable_watch(App& app) {
  app.watcher.reset();
  app.watch_timer.cancel();
  app.watch_restarting = false;
  std::vector<std::string> roots = app.spec.watch_paths;
  if (roots.empty()) roots.push_back(app.spec.cwd);  // `watch: true`: the app's directory
  const std::string name = app.spec.name;
  auto watcher = FileWatcher::start(loop_, roots, WatchFilter(app.spec.ignore_watch, app.spec.cwd),
                                    [this, name](const std::string& path) {
                                      if (auto it = apps_.find(name); it != apps_.end())
                                        on_watched_change(*it->second, path);
                                    });
  if (!watcher.ok()) {
    log_error("app '{}': watch not started: {}", name, watcher.error().message());
    return;
  }
  app.watcher = std::move(watcher.value());
  log_info("app '{}': watching {} director{}", name, app.watcher->watch_count(),
           app.watcher->watch_count() == 1 ? "y" : "ies");
}

void Supervisor::disable_watch(App& app) {
  app.watcher.reset();
  app.watch_timer.cancel();
  app.watch_restarting = false;
}

void Supervisor::on_watched_change(App& app, const std::string& path) {
  // PM2: the first change schedules a restart after watch_delay; changes until that restart
  // is done are part of it.
  if (app.watch_restarting) return;
  app.watch_restarting = true;
  const std::string name = app.spec.name;
  app.watch_timer.start(app.spec.watch_delay_ms, [this, name, path] {
    auto it = apps_.find(name);
    if (it == apps_.end()) return;
    App& target = *it->second;
    target.watch_timer.cancel();
    std::vector<Instance*> running;
    for (Instance* instance : target.instances) {
      if (is_running(*instance)) running.push_back(instance);
    }
    restart_for(target, running, "watch: " + path + " changed", [this, name] {
      if (auto again = apps_.find(name); again != apps_.end()) again->second->watch_restarting = false;
    });
  });
}

void Supervisor::stop_watching(const std::vector<Instance*>& instances) {
  for (Instance* instance : instances) {
    App& app = *instance->app;
    if (!app.spec.watch) continue;
    app.spec.watch = false;
    disable_watch(app);
    log_info("app '{}': watch turned off by stop", app.spec.name);
  }
}

void Supervisor::toggle_watching(const std::vector<Instance*>& instances) {
  std::vector<App*> apps;
  for (Instance* instance : instances) {
    if (std::find(apps.begin(), apps.end(), instance->app) == apps.end()) apps.push_back(instance->app);
  }
  for (App* app : apps) {
    app->spec.watch = !app->spec.watch;
    if (app->spec.watch) {
      enable_watch(*app);
    } else {
      disable_watch(*app);
    }
  }
}

// --- max_memory_restart

void Supervisor::check_memory() {
  if (memory_checking_) return;
  std::vector<std::pair<int, pid_t>> limited;
  for (auto& [id, instance] : instances_) {
    const auto& limit = instance->app->spec.max_memory_restart;
    // Not during a reload: the instance is about to be replaced anyway.
    if (limit && *limit > 0 && instance->state == InstanceState::online && instance->run && instance->run->pid != 0 &&
        !instance->run->terminating && !(instance->app->reload && instance->app->reload->active())) {
      limited.emplace_back(id, instance->run->pid);
    }
  }
  if (limited.empty()) return;
  // /proc is read on a pool thread, as the sampler's (Supervisor::sample).
  read_proc_off_loop("max_memory_restart check", memory_checking_,
                     [this, limited](const process::ProcTable& table) { apply_memory_check(table, limited); });
}

// Only instances still online with the process that was measured: one restarted or stopped
// meanwhile is measured again next time.
void Supervisor::apply_memory_check(const process::ProcTable& table,
                                    const std::vector<std::pair<int, pid_t>>& limited) {
  for (const auto& [id, pid] : limited) {
    auto found = instances_.find(id);
    if (found == instances_.end()) continue;
    Instance* instance = found->second.get();
    const auto& limit_option = instance->app->spec.max_memory_restart;
    if (!limit_option || *limit_option <= 0 || instance->state != InstanceState::online || !instance->run ||
        instance->run->pid != pid || instance->run->terminating ||
        (instance->app->reload && instance->app->reload->active())) {
      continue;
    }
    std::uint64_t rss = 0;
    for (const auto& entry : table.tree(pid)) rss += entry.rss_bytes;
    instance->memory_bytes = rss;
    const auto limit = static_cast<std::uint64_t>(*limit_option);
    if (rss <= limit) continue;
    restart_for(*instance->app, {instance},
                "max_memory_restart: memory " + megabytes(rss) + " above the limit of " + megabytes(limit), [] {});
  }
}

}  // namespace drove::supervisor
