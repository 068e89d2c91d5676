// Autoscaling, carried out: once per resource sample each autoscaled app's signal is measured
// (the CPU just sampled, the connections waiting on its sockets, or the load average), the pure
// policy (autoscale.hpp) decides, and the supervisor scales as `drove scale` would. Scale-down
// is graceful because it is a stop: the instance leaves load balancing at once, a Node worker is
// disconnected (it finishes its connections, then exits), others get their stop signal and
// kill_timeout. See docs/cluster.md, "Autoscaling".
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "supervisor/spec_validator.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {

void Supervisor::autoscale_all() {
  const std::int64_t now = monotonic_ms();
  for (auto& [_, app] : apps_) {
    if (app->spec.autoscale) autoscale(*app, now);
  }
}

// Only an app that is up and left alone is scaled: not while a user stopped it (or it is
// errored), not during a reload, not while a scale-down it asked for is still stopping instances.
bool Supervisor::scalable(const App& app) const {
  if (app.reload && app.reload->active()) return false;
  bool online = false;
  for (const Instance* i : app.instances) {
    if (i->state == InstanceState::stopped || i->state == InstanceState::stopping ||
        i->state == InstanceState::errored || i->stop_requested)
      return false;
    online = online || i->state == InstanceState::online;
  }
  return online;
}

ScaleSignal Supervisor::scale_signal(const App& app) const {
  ScaleSignal out;
  switch (app.spec.autoscale->metric) {
    case ScaleMetric::cpu:
      for (const Instance* i : app.instances) {
        if (i->pid() == 0) continue;
        out.value += i->cpu_percent;
        // A figure exists once an instance was sampled twice with the same process.
        out.available = out.available || (i->last_cpu_ticks != 0 && i->last_sample_mono_ms != 0);
      }
      break;
    case ScaleMetric::pending: {
      if (!app.primary) break;
      std::vector<cluster::WorkerId> workers;
      for (const Instance* i : app.instances) {
        for (const Run* run : {i->run.get(), i->incoming.get()}) {
          if (run != nullptr) workers.push_back(run->worker_id);
        }
      }
      if (auto waiting = app.primary->waiting_connections(workers)) {
        out.available = true;
        out.value = static_cast<double>(*waiting);
      }
      break;
    }
    case ScaleMetric::loadavg: {
      double load[1] = {0};
      if (::getloadavg(load, 1) == 1) {
        out.available = true;
        out.value = load[0];
      }
      break;
    }
  }
  return out;
}

void Supervisor::autoscale(App& app, std::int64_t now_ms) {
  const Autoscale& spec = *app.spec.autoscale;
  AppAutoscaling& state = app.autoscaling;
  state.signal = scale_signal(app);
  if (spec.paused || state.busy || !scalable(app)) return;
  const int current = static_cast<int>(app.instances.size());
  // The most the daemon's caps allow this app now (spec_validator.hpp): its own limit, and what
  // the daemon-wide limit leaves once the other apps' instances are counted.
  const int others = static_cast<int>(instances_.size()) - current;
  const int cap = std::max(current, std::min(kMaxInstancesPerApp, kMaxInstancesTotal - others));
  const AutoscaleInput input{current, state.signal, static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN))),
                             cap, now_ms};
  const AutoscaleDecision decision = decide_autoscale(spec, input, state.memory);
  state.recommended = decision.recommended;
  state.reason = decision.reason;
  if (!decision.changes()) return;
  const bool up = decision.to > decision.from;
  ++(up ? state.ups : state.downs);
  log_info("autoscale '{}': {} -> {} instances ({})", app.spec.name, decision.from, decision.to, decision.reason);
  record_scale(app, ScaleRecord{wall_ms(), up ? "up" : "down", decision.from, decision.to, decision.reason});
  state.busy = !up;  // new instances count at once; removed ones only once they are gone
  App* target = &app;
  const std::string name = app.spec.name;
  scale_app(app, decision.to, [this, target, name] {
    for (auto [it, end] = apps_.equal_range(name); it != end; ++it) {
      if (it->second.get() == target) target->autoscaling.busy = false;
    }
  });
}

void Supervisor::record_scale(App& app, ScaleRecord record) {
  const Autoscale& spec = *app.spec.autoscale;
  auto& history = app.autoscaling.history;
  history.push_back(record);
  while (history.size() > kScaleHistory) history.pop_front();
  if (record.action == "paused" || record.action == "resumed") {
    log_info("autoscale '{}': {} ({})", app.spec.name, record.action, record.reason);
  }
  emit_app(app, events::Scaled{record.action, record.from, record.to, to_string(spec.metric),
                               app.autoscaling.signal.value, spec.target, record.reason});
}

}  // namespace drove::supervisor
