// What apps say to the daemon: Node IPC messages (the cluster protocol goes to the app's
// primary; 'ready' marks readiness; anything else is the app's own message, published as an
// event) and, through them, when a run is ready to serve.
#include <algorithm>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "process/event_loop_probe.hpp"
#include "supervisor/app_identity.hpp"
#include "supervisor/app_metrics.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {
namespace {

constexpr size_t kKeptMessages = 20;
constexpr std::int64_t kDroppedLogIntervalMs = 60'000;
// The event-loop probe: every 10 ms, and the wait seen on every probe for 50 ms (probe_event_loop).
constexpr std::int64_t kIdleProbeMs = 10;
constexpr std::int64_t kIdleSettleMs = 50;

}  // namespace

// PM2 is one Node cluster primary for every app: two cluster apps listening on the same port
// share its socket, connections spread round-robin over the workers of both. Node cluster apps
// of the same user (uid/gid, privileged ports) and the same balancing share one primary here
// too. reuseport keeps one per app (its sockets are per instance slot), and so do apps that get
// their sockets by activation (fixed per app by their config).
std::shared_ptr<cluster::ClusterPrimary> Supervisor::shareable_primary(const App& app) const {
  auto shares = [](const AppSpec& s) {
    return s.exec_mode == ExecMode::cluster && speaks_node_ipc(s) && s.lb != LoadBalance::reuseport;
  };
  if (!shares(app.spec)) return nullptr;
  for (const auto& [_, other] : apps_) {
    if (other.get() == &app || !other->primary || !shares(other->spec)) continue;
    const AppSpec& o = other->spec;
    if (o.lb == app.spec.lb && o.uid == app.spec.uid && o.gid == app.spec.gid &&
        o.allow_privileged_ports == app.spec.allow_privileged_ports) {
      return other->primary;
    }
  }
  return nullptr;
}

void Supervisor::create_primary(App& app) {
  if (auto shared = shareable_primary(app)) {
    app.primary = std::move(shared);
    return;
  }
  cluster::ClusterPrimary::Events events;
  events.on_online = [this](int worker_id) {
    if (Run* run = find_worker(worker_id)) {
      run->said_online = true;
      check_ready(*run);
      probe_event_loop(*run);
    }
  };
  events.on_listening = [this](int worker_id, const ipc::WorkerListening& message) {
    if (Run* run = find_worker(worker_id)) {
      emit(*run->instance, events::Listening{message.address, message.port});
      check_ready(*run);
    }
  };
  events.on_protocol_error = [this](int worker_id, const std::string& reason) {
    if (Run* run = find_worker(worker_id)) on_dropped_message(*run->instance, "cluster protocol: " + reason);
  };
  events.on_bind_error = [this](int worker_id, const std::string& key, int negative_errno) {
    if (Run* run = find_worker(worker_id)) {
      Instance& instance = *run->instance;
      instance.last_error = "cannot listen on " + key + ": " + std::strerror(-negative_errno);
      log_warn("{}:{} {}", instance.app->spec.name, instance.id, instance.last_error);
      emit(instance, events::BindError{key, negative_errno});
    }
  };
  cluster::ClusterPrimary::Options options;
  options.app_name = app.spec.name;
  options.max_listeners = static_cast<std::size_t>(std::max(app.spec.max_listeners, 1));
  if (app.spec.uid || app.spec.gid || app.spec.allow_privileged_ports) {
    // By value: a shared primary outlives the app that created it.
    AppSpec who;
    who.name = app.spec.name;
    who.uid = app.spec.uid;
    who.gid = app.spec.gid;
    who.allow_privileged_ports = app.spec.allow_privileged_ports;
    options.bind_as = [who = std::move(who)] { return bind_identity(who); };
  }
  app.primary = std::make_shared<cluster::ClusterPrimary>(loop_, app.spec.lb, std::move(events), std::move(options));
}

Run* Supervisor::find_worker(int worker_id) {
  for (auto& [_, instance] : instances_) {
    if (instance->run && instance->run->worker_id == worker_id) return instance->run.get();
    if (instance->incoming && instance->incoming->worker_id == worker_id) return instance->incoming.get();
  }
  return nullptr;
}

void Supervisor::on_channel_message(Run& run, const nlohmann::json& message, UniqueFd fd) {
  App& app = *run.instance->app;
  if (app.primary && app.primary->handle_message(run.worker_id, message, fd)) return;
  on_app_message(run, message);
}

void Supervisor::on_app_message(Run& run, const nlohmann::json& message) {
  Instance& instance = *run.instance;
  if (message == "ready") {
    run.said_ready = true;
    check_ready(run);
    return;
  }
  if (is_axm_message(message)) {
    // @pm2/io's reports: kept per process as PM2 keeps them, not app messages (PM2 does not
    // broadcast them either). Its replies to actions (axm:reply) are the app's messages.
    const std::string& type = message["type"].get_ref<const std::string&>();
    const nlohmann::json data = message.contains("data") ? message["data"] : nlohmann::json();
    std::optional<std::string> refused;
    if (type == "axm:monitor") {
      refused = merge_axm_monitor(run.axm_monitor, data);
    } else if (type == "axm:action") {
      refused = add_axm_action(run.axm_actions, data);
    }
    if (refused) on_dropped_message(instance, *refused);
    if (type != "axm:reply") return;
  }
  instance.messages.push_back({{"at", wall_ms()}, {"data", message}});
  if (instance.messages.size() > kKeptMessages) instance.messages.pop_front();
  emit(instance, events::Message{message});
}

void Supervisor::on_dropped_message(Instance& instance, const std::string& reason) {
  ++instance.dropped_messages;
  ++instance.dropped_since_logged;
  instance.last_dropped_reason = reason;
  // An app can send thousands of bad lines a second: drove.log must not become its echo.
  const std::int64_t now = monotonic_ms();
  if (instance.dropped_logged_mono_ms != 0 && now - instance.dropped_logged_mono_ms < kDroppedLogIntervalMs) return;
  log_warn("{}:{} dropped {} message(s) from the app (total {}), last: {}", instance.app->spec.name, instance.id,
           instance.dropped_since_logged, instance.dropped_messages, reason);
  instance.dropped_logged_mono_ms = now;
  instance.dropped_since_logged = 0;
}

// A run is ready to serve when what its app requires has happened:
//  - wait_ready: process.send('ready') (Node) or sd_notify READY=1 (others);
//  - a Node cluster worker (Node sends 'online' before the app's code has even run):
//    - one that asked for a server: its first server listening; a replacement must listen on
//      every key the app's current workers listen on, so no connection finds nobody to take it;
//    - one that asked for none (a queue worker, a cron job): its main script has run, i.e. its
//      main thread waits in the event loop (probe_event_loop); a replacement of workers that
//      listen on nothing needs no more. Where /proc cannot tell, listen_timeout decides
//      (arm_readiness);
//  - a socket-activated app without wait_ready: its grace period (arm_readiness).
void Supervisor::check_ready(Run& run) {
  if (run.ready || run.terminating || run.pid == 0) return;
  Instance& instance = *run.instance;
  const App& app = *instance.app;
  const AppSpec& spec = app.spec;
  if (spec.wait_ready && !run.said_ready) return;
  if (spec.exec_mode == ExecMode::cluster && speaks_node_ipc(spec)) {
    const auto* primary = app.primary.get();
    if (!run.said_online || !primary) return;
    const auto mine = primary->listening_keys(run.worker_id);
    const bool serves_nothing =
        !primary->asked_for_server(run.worker_id) && (run.main_script_ran || (spec.wait_ready && run.said_ready));
    if (instance.incoming.get() == &run) {
      const auto theirs = peer_listening_keys(app);
      if (theirs.empty()) {
        if (mine.empty() && !serves_nothing) return;
      } else {
        for (const auto& key : theirs) {
          if (std::find(mine.begin(), mine.end(), key) == mine.end()) return;
        }
      }
    } else if (mine.empty() && !serves_nothing) {
      return;
    }
  } else if (spec.exec_mode == ExecMode::cluster && !spec.wait_ready) {
    return;  // socket activation: the grace period decides
  }
  mark_ready(run);
}

// Every key the app's current runs listen on (what a replacement must listen on too).
std::vector<std::string> Supervisor::peer_listening_keys(const App& app) const {
  std::vector<std::string> keys;
  if (!app.primary) return keys;
  for (const Instance* peer : app.instances) {
    if (!peer->run) continue;
    for (auto& key : app.primary->listening_keys(peer->run->worker_id)) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
  }
  return keys;
}

// Node runs a worker's main module synchronously before the first turn of its event loop, and
// a server's listen() writes its queryServer to the channel at once: a worker seen waiting in
// its event loop, on every probe for kIdleSettleMs, with no server asked for, has run its main
// script and serves nothing. Probes are a loop turn apart, so a queryServer written just
// before the wait has been read by then. A listen() behind a host-name lookup or an await
// comes later: that worker counts as online first, as it would under PM2.
void Supervisor::probe_event_loop(Run& run) {
  if (run.ready || run.terminating || run.pid == 0 || run.main_script_ran) return;
  switch (process::main_thread_wait(run.pid)) {
    case process::MainThreadWait::unknown:
      run.probe_unavailable = true;
      log_warn("{}:{} cannot read /proc/{}/syscall: a worker that does not listen is online after listen_timeout",
               run.instance->app->spec.name, run.instance->id, run.pid);
      return;
    case process::MainThreadWait::other:
      run.idle_probes = 0;
      break;
    case process::MainThreadWait::event_loop:
      if (++run.idle_probes * kIdleProbeMs >= kIdleSettleMs) {
        run.main_script_ran = true;
        check_ready(run);
        return;
      }
      break;
  }
  Run* self = &run;
  run.probe.start(kIdleProbeMs, [this, self] { probe_event_loop(*self); });
}

CommandStatus Supervisor::send_message(const std::vector<Instance*>& instances, const nlohmann::json& message) {
  for (Instance* instance : instances) {
    if (!instance->run || !instance->run->channel || !instance->run->channel->is_open()) {
      return CommandError{ErrorCode::no_channel,
                          "process " + std::to_string(instance->id) + " (" + instance->app->spec.name +
                              ") has no IPC channel: only node apps that are running can receive messages"};
    }
  }
  for (Instance* instance : instances) {
    if (auto s = instance->run->channel->send(message); !s.ok()) {
      return CommandError{ErrorCode::io,
                          "cannot send to process " + std::to_string(instance->id) + ": " + s.error().message()};
    }
  }
  return Ok{};
}

CommandStatus Supervisor::send_line(const std::vector<Instance*>& instances, const std::string& bytes) {
  for (Instance* instance : instances) {
    const std::string who = "process " + std::to_string(instance->id) + " (" + instance->app->spec.name + ")";
    if (!instance->run || instance->run->pid == 0)
      return CommandError{ErrorCode::no_such_process, who + " is not running"};
    if (!instance->run->stdin_writer) {
      return CommandError{ErrorCode::no_stdin,
                          who +
                              " has no stdin to write to: cluster workers read /dev/null, as under PM2 "
                              "(use `drove message` to reach process.on('message'))"};
    }
  }
  for (Instance* instance : instances) {
    if (auto s = instance->run->stdin_writer->write(bytes); !s.ok()) {
      return CommandError{ErrorCode::io, "cannot write to the stdin of process " + std::to_string(instance->id) + ": " +
                                             s.error().message()};
    }
  }
  return Ok{};
}

}  // namespace drove::supervisor
