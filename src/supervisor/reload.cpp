// Rolling zero-downtime reload. For each batch of instances (batch_size, default 1): start a
// replacement run beside the current one; wait until it is ready (bounded by listen_timeout);
// then take the old run out of load balancing and stop it gracefully, so it finishes what it
// is serving while the replacement takes new connections from the daemon-held sockets. A
// replacement that crashes or is not ready in time aborts the reload: the old processes keep
// serving and the user is told why. Apps without daemon-held sockets (fork mode) cannot be
// reloaded without a gap; they are restarted, with a notice, as PM2 does.
#include <algorithm>
#include <map>

#include "base/log.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/output_files.hpp"
#include "supervisor/rolling_reload.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {

// Node cluster apps hold their servers' sockets in the daemon's primary; other cluster apps
// get the daemon's sockets by activation when they have ports to listen on.
bool Supervisor::holds_sockets(const App& app) const {
  if (app.spec.exec_mode != ExecMode::cluster) return false;
  return speaks_node_ipc(app.spec) || !activation_specs(app.spec).empty();
}

CommandStatus Supervisor::reload(const std::vector<Instance*>& instances, int batch_size,
                                 std::function<void(std::vector<ReloadOutcome>)> done) {
  std::map<App*, std::vector<Instance*>> by_app;
  for (Instance* instance : instances) by_app[instance->app].push_back(instance);
  for (auto& [app, _] : by_app) {
    if (app->reload && app->reload->active()) {
      return CommandError{ErrorCode::busy,
                          "a reload of '" + app->spec.name + "' is already running; wait for it to finish"};
    }
  }
  auto outcomes = std::make_shared<std::vector<ReloadOutcome>>();
  auto remaining = std::make_shared<size_t>(by_app.size());
  auto shared_done = std::make_shared<std::function<void(std::vector<ReloadOutcome>)>>(std::move(done));
  if (by_app.empty()) {
    (*shared_done)({});
    return Ok{};
  }
  for (auto& [app, targets] : by_app) {
    App* a = app;
    auto finish = [outcomes, remaining, shared_done](ReloadOutcome outcome) {
      outcomes->push_back(std::move(outcome));
      if (--*remaining == 0) (*shared_done)(std::move(*outcomes));
    };
    if (!holds_sockets(*a)) {
      const std::string name = a->spec.name;
      restart(targets, [finish, name] {
        finish({true, "'" + name + "' runs in fork mode with no daemon-held socket: restarted instead of reloaded"});
      });
      continue;
    }
    std::vector<int> ids;
    ids.reserve(targets.size());
    for (Instance* instance : targets) ids.push_back(instance->id);
    // The previous reload's object may still be on the stack (its `done` runs this): freed later.
    if (a->reload) {
      finished_reloads_.push_back(std::move(a->reload));
      collect_later();
    }
    a->reload = std::make_unique<RollingReload>(
        std::move(ids), batch_size, reload_host(),
        [this, a, finish, name = a->spec.name](const RollingReload::Outcome& outcome) {
          a->last_reload_ms = monotonic_ms() - a->reload_began_mono_ms;
          ++(outcome.ok ? a->reloads_done : a->reloads_aborted);
          if (outcome.ok) {
            log_info("reload of '{}' done", name);
            return finish({true, ""});
          }
          const std::string message = "reload of '" + name + "' aborted: instance " +
                                      std::to_string(outcome.failed_id) + ": " + outcome.why +
                                      "; the previous processes still serve";
          log_warn("{}", message);
          if (Instance* instance = find_instance(outcome.failed_id); instance && instance->app == a)
            emit(*instance, events::ReloadFailed{message});
          finish({false, message});
        });
    log_info("reload of '{}' begins ({} instance(s), batches of {})", a->spec.name, targets.size(),
             a->reload->batch_size());
    a->reload_began_mono_ms = monotonic_ms();
    a->reload->begin();
  }
  return Ok{};
}

// What a rolling reload asks of the supervisor, by instance id (the instance may be gone).
RollingReload::Host Supervisor::reload_host() {
  return {
      .turn_of =
          [this](int id) {
            Instance* instance = find_instance(id);
            // A slot still queued to start will start with the new spec anyway.
            if (!instance || instance->start_queued) return RollingReload::Turn::skip;
            if (instance->state == InstanceState::online || instance->state == InstanceState::launching)
              return RollingReload::Turn::replace;
            if (instance->state == InstanceState::stopped || instance->state == InstanceState::errored)
              return RollingReload::Turn::start;  // nothing to hand over: it starts the usual way
            return RollingReload::Turn::skip;
          },
      .launch_replacement =
          [this](int id, std::string& why) {
            Instance* instance = find_instance(id);
            if (instance && launch(*instance, true)) return true;
            why = "its replacement could not start: " + (instance ? instance->last_error : std::string("deleted"));
            return false;
          },
      .start =
          [this](int id) {
            if (Instance* instance = find_instance(id)) start_instance(*instance);
          },
      .abandon_replacement =
          [this](int id) {
            Instance* instance = find_instance(id);
            if (!instance || !instance->incoming) return;
            Run* incoming = instance->incoming.get();
            terminate(*incoming, [this, instance, incoming] {
              if (instance->incoming.get() == incoming) bury(std::move(instance->incoming));
            });
          },
  };
}

void Supervisor::on_incoming_ready(Instance& instance) {
  App& app = *instance.app;
  std::unique_ptr<Run> old = std::move(instance.run);
  instance.run = std::move(instance.incoming);
  write_pid_file(instance.pid_file_path, instance.run->pid, instance.pid_file_owner);
  ++instance.restart_time;
  instance.history = {};
  transition(instance, InstanceEvent::replaced);
  log_info("{}:{} replaced: pid {} now serves", app.spec.name, instance.id, instance.run->pid);
  const std::int64_t now = monotonic_ms();
  instance.last_replacement_ready_ms = now - instance.run->started_mono_ms;
  instance.last_retirement_ms = -1;
  if (old) {
    Run* retiring = old.get();
    instance.retiring.push_back(std::move(old));
    terminate(*retiring, [this, &instance, retiring, now] {
      instance.last_retirement_ms = monotonic_ms() - now;
      for (auto& r : instance.retiring) {
        if (r.get() == retiring) bury(std::move(r));
      }
      std::erase(instance.retiring, nullptr);
    });
  }
  if (app.reload) app.reload->ready(instance.id);
}

void Supervisor::on_incoming_failed(Instance& instance, const std::string& why) {
  if (instance.app->reload && instance.app->reload->active()) {
    instance.app->reload->failed(instance.id, why);
  } else if (instance.incoming) {
    reload_host().abandon_replacement(instance.id);
  }
}

}  // namespace drove::supervisor
