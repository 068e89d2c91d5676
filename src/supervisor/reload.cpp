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
    if (app->reload.active) {
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
    a->reload = {};
    a->reload.active = true;
    a->reload.batch_size = std::max(1, batch_size);
    for (Instance* instance : targets) a->reload.queue.push_back(instance);
    const std::string name = a->spec.name;
    a->reload.done = [finish, name](bool ok, std::string message) {
      finish({ok, ok ? std::string() : std::move(message)});
    };
    log_info("reload of '{}' begins ({} instance(s), batches of {})", name, targets.size(), a->reload.batch_size);
    reload_next_batch(*a);
  }
  return Ok{};
}

void Supervisor::reload_next_batch(App& app) {
  ReloadState& r = app.reload;
  if (!r.active || !r.in_flight.empty()) return;
  while (r.in_flight.empty()) {
    if (r.queue.empty()) {
      r.active = false;
      log_info("reload of '{}' done", app.spec.name);
      auto done = std::move(r.done);
      r.done = nullptr;
      if (done) done(true, "");
      return;
    }
    for (int n = 0; n < r.batch_size && !r.queue.empty(); ++n) {
      Instance* instance = r.queue.front();
      r.queue.pop_front();
      // A slot that is not running has nothing to hand over: it starts the usual way (a slot
      // still queued to start will start with the new spec anyway).
      if (instance->start_queued) continue;
      if (instance->state != InstanceState::online && instance->state != InstanceState::launching) {
        if (instance->state == InstanceState::stopped || instance->state == InstanceState::errored)
          start_instance(*instance);
        continue;
      }
      r.in_flight.push_back(instance);
      Run* incoming = launch(*instance, true);
      if (!incoming) {
        on_incoming_failed(*instance, "its replacement could not start: " + instance->last_error);
        return;
      }
    }
  }
}

void Supervisor::on_incoming_ready(Instance& instance) {
  App& app = *instance.app;
  std::unique_ptr<Run> old = std::move(instance.run);
  instance.run = std::move(instance.incoming);
  write_pid_file(instance.pid_file_path, instance.run->pid, instance.pid_file_owner);
  ++instance.restart_time;
  instance.history = {};
  set_state(instance, InstanceState::online);
  log_info("{}:{} replaced: pid {} now serves", app.spec.name, instance.id, instance.run->pid);
  if (old) {
    Run* retiring = old.get();
    instance.retiring.push_back(std::move(old));
    terminate(*retiring, [this, &instance, retiring] {
      for (auto& r : instance.retiring) {
        if (r.get() == retiring) bury(std::move(r));
      }
      std::erase(instance.retiring, nullptr);
    });
  }
  std::erase(app.reload.in_flight, &instance);
  reload_next_batch(app);
}

void Supervisor::on_incoming_failed(Instance& instance, const std::string& why) {
  App& app = *instance.app;
  ReloadState& r = app.reload;
  // Every replacement of the batch goes; the processes they were to replace keep serving.
  std::vector<Instance*> batch = r.in_flight;
  if (std::find(batch.begin(), batch.end(), &instance) == batch.end()) batch.push_back(&instance);
  for (Instance* i : batch) {
    if (!i->incoming) continue;
    Run* incoming = i->incoming.get();
    terminate(*incoming, [this, i, incoming] {
      if (i->incoming.get() == incoming) bury(std::move(i->incoming));
    });
  }
  const std::string message = "reload of '" + app.spec.name + "' aborted: instance " + std::to_string(instance.id) +
                              ": " + why + "; the previous processes still serve";
  log_warn("{}", message);
  emit(instance, events::ReloadFailed{message});
  auto done = std::move(r.done);
  r = {};
  if (done) done(false, message);
}

}  // namespace drove::supervisor
