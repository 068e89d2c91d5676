// App: the instances started from one AppSpec, under one name, and its rolling-reload state.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_primary.hpp"
#include "config/app_spec.hpp"
#include "supervisor/autoscale.hpp"
#include "supervisor/file_watcher.hpp"
#include "supervisor/instance.hpp"
#include "supervisor/rolling_reload.hpp"

namespace drove::supervisor {

// One change of an autoscaled app's instance count, or a pause/resume (describe shows the last).
struct ScaleRecord {
  std::int64_t at_ms = 0;  // wall clock
  std::string action;      // "up", "down", "paused", "resumed"
  int from = 0;
  int to = 0;
  std::string reason;
};

// What autoscaling measured and decided for an app (autoscaling.cpp).
struct AppAutoscaling {
  AutoscaleMemory memory;
  bool busy = false;  // a scale-down it asked for is still stopping its instances
  ScaleSignal signal;
  int recommended = 0;
  std::string reason;                // of the last decision, held or not
  std::deque<ScaleRecord> history;   // the last kScaleHistory changes
  std::uint64_t ups = 0, downs = 0;  // decisions carried out
};
inline constexpr std::size_t kScaleHistory = 20;

struct App {
  AppSpec spec;
  std::vector<Instance*> instances;       // in creation order (scale down removes the first); owned by the Supervisor
  std::unique_ptr<RollingReload> reload;  // the last reload (rolling_reload.hpp); null before any
  // Reloads that finished, by outcome, and how long the last one took (begin to done or abort).
  std::uint64_t reloads_done = 0, reloads_aborted = 0;
  std::int64_t reload_began_mono_ms = 0;
  std::int64_t last_reload_ms = -1;  // none yet
  // Cluster mode: the daemon's primary, owner of the app's listening sockets.
  // Node cluster apps of the same user and policy share one (as every app shares PM2's), so
  // two apps listening on one port share its socket (Supervisor::create_primary).
  std::shared_ptr<cluster::ClusterPrimary> primary;

  // Restart triggers (triggers.cpp): cron_restart's timer, and watch's inotify watcher with
  // its debounce timer. `watch_restarting` absorbs changes while a watch restart runs, as PM2.
  ActionTimer cron_timer;
  std::unique_ptr<FileWatcher> watcher;
  ActionTimer watch_timer;
  bool watch_restarting = false;

  AppAutoscaling autoscaling;  // with spec.autoscale

  [[nodiscard]] RestartPolicy restart_policy() const {
    return {spec.autorestart,
            spec.min_uptime_ms,
            spec.max_restarts,
            spec.restart_delay_ms,
            spec.exp_backoff_restart_delay_ms,
            spec.stop_exit_codes};
  }
};

}  // namespace drove::supervisor
