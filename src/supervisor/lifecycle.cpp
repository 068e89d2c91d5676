// The life of runs: launching a process for an instance, its exit, graceful termination of
// its whole tree, and what a crash leads to (restart policy).
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "ipc/channel.hpp"
#include "process/spawn.hpp"
#include "supervisor/app_identity.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/output_files.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {
namespace {

constexpr std::int64_t kActivationGraceMs = 1000;
constexpr std::int64_t kTransientRetryFirstMs = 100;
constexpr std::int64_t kTransientRetryMaxMs = 5000;

// Start failures that say "the host is short right now", not "this app cannot run".
bool is_transient_start_error(int code) {
  return code == EMFILE || code == ENFILE || code == EAGAIN || code == ENOMEM || code == ENOBUFS;
}

// The environment entry every process of a run inherits (see process_tree.hpp).
std::string run_marker(const Run& run) {
  if (!run.marker.empty()) return run.marker;  // taken back from a previous daemon: its marker
  return "DROVE_RUN=" + std::to_string(::getpid()) + "." + std::to_string(run.worker_id);
}

int stop_signal(const AppSpec& spec) {
  const int sig = process::signal_from_name(spec.kill_signal);
  return sig ? sig : SIGINT;
}

}  // namespace

bool Run::signal_main(int sig) const {
  if (pid == 0) return false;
  if (pidfd) return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
  return ::kill(pid, sig) == 0;  // our unreaped child: the pid cannot have been recycled
}

void ActionTimer::init(uv_loop_t* loop) {
  handle = UvHandle<uv_timer_t>::make();
  uv_timer_init(loop, handle.get());
  handle->data = this;
}

void ActionTimer::start(std::int64_t delay_ms, std::function<void()> run) {
  uv_timer_stop(handle.get());
  action = std::move(run);
  uv_timer_start(
      handle.get(),
      [](uv_timer_t* t) {
        loop_barrier("supervisor timer", [t] {
          auto* self = owner_of<ActionTimer>(t);
          if (!self || !self->action) return;
          auto fire = self->action;  // the action may re-arm (replace) or cancel the timer
          fire();
        });
      },
      static_cast<std::uint64_t>(std::max<std::int64_t>(delay_ms, 0)), 0);
}

void ActionTimer::cancel() {
  if (handle) uv_timer_stop(handle.get());
  action = nullptr;
}

Run* Supervisor::launch(Instance& instance, bool incoming) {
  App& app = *instance.app;
  const AppSpec& spec = app.spec;
  auto run = std::make_unique<Run>();
  run->worker_id = next_worker_id_++;
  run->marker = run_marker(*run);
  run->instance = &instance;
  run->timer.init(loop_);
  run->probe.init(loop_);
  launch_error_code_ = 0;
  auto fail = [&](const std::string& why, int code = 0) -> Run* {
    launch_error_code_ = code;
    instance.last_error = why;
    log_error("{}:{} failed to start: {}", spec.name, instance.id, why);
    emit(instance, events::StartFailed{why});
    return nullptr;
  };

  // Resolved first: the environment and every file made for the app depend on who it runs as.
  auto identity = resolve_app_identity(spec);
  if (!identity.ok()) return fail(identity.error().message());
  // Files in the daemon's own (0700) home stay the daemon's; every path the config names is
  // opened with the app's rights (docs/security.md).
  instance.output_spec.owner = identity->owner;
  instance.output_spec.daemon_dir = paths_.logs_dir;
  instance.pid_file_owner = spec.pid_file.empty() ? FileOwner{} : identity->owner;

  std::string file;
  std::vector<std::string> argv = instance_argv(spec, file, paths_.node_metrics_preload);
  if (spec.node_metrics && paths_.node_metrics_preload.empty())
    log_warn(
        "{}:{}: node_metrics asked, but drove's preload (share/drove/node-metrics.js beside the drove binary) "
        "is not installed: it runs without it",
        spec.name, instance.id);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail(last_error("pipe").message(), errno);
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail(last_error("pipe").message(), errno);
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  // Fork-mode apps read a pipe the daemon writes (`drove send`, `attach`), as under PM2; cluster
  // workers get /dev/null, as Node's cluster.fork gives PM2's.
  UniqueFd in_read, in_write;
  if (spec.exec_mode == ExecMode::fork) {
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return fail(last_error("pipe").message(), errno);
    in_read.reset(in_pipe[0]);
    in_write.reset(in_pipe[1]);
  }
  run->started_mono_ms = monotonic_ms();
  run->started_at_ms = wall_ms();
  process::SpawnOptions options{
      .file = file,
      .argv = std::move(argv),
      .env = instance_env(instance, *run, notify_.path(), identity.value()),
      .cwd = spec.cwd,
      .fds = {{1, out_write.get()}, {2, err_write.get()}},
      .new_session = true,
  };
  if (in_read) options.fds.push_back({0, in_read.get()});

  options.uid = identity->owner.uid;
  options.gid = identity->owner.gid;
  options.groups = identity->owner.groups;

  // Node apps get an IPC channel on fd 3 (process.send, and the cluster protocol in cluster
  // mode); other cluster apps get the daemon's listening sockets from fd 3 (LISTEN_FDS).
  UniqueFd channel_ours, channel_theirs;
  if (speaks_node_ipc(spec)) {
    auto pair = ipc::Channel::make_pair();
    if (!pair.ok()) return fail(pair.error().message(), pair.error().code);
    channel_ours = std::move(pair->first);
    channel_theirs = std::move(pair->second);
    options.fds.push_back({3, channel_theirs.get()});
    options.env.push_back("NODE_CHANNEL_FD=3");
    options.env.push_back("NODE_CHANNEL_SERIALIZATION_MODE=json");
    if (spec.exec_mode == ExecMode::cluster) options.env.push_back("NODE_UNIQUE_ID=" + std::to_string(run->worker_id));
  } else if (app.primary) {
    const auto listen = activation_specs(spec);
    auto fds = app.primary->activation_fds(listen, instance.index);
    if (!fds.ok()) return fail("cannot listen: " + fds.error().message(), fds.error().code);
    std::string names;
    for (size_t i = 0; i < fds->size(); ++i) {
      options.fds.push_back({3 + static_cast<int>(i), (*fds)[i]});
      names += (i ? ":" : "") + listen[i].name;
    }
    options.env.push_back("LISTEN_FDS=" + std::to_string(fds->size()));
    options.env.push_back("LISTEN_FDNAMES=" + names);
    options.set_listen_pid = true;
  }

  // Its whole tree is stopped by cgroup when we can make one; otherwise the marker lets the
  // /proc fallback recognise daemonised descendants re-parented to us.
  options.env.push_back(run_marker(*run));
  if (cgroups_) {
    auto cgroup = cgroups_->make_run("run-" + std::to_string(run->worker_id));
    if (cgroup.ok()) {
      run->cgroup = std::move(cgroup.value());
      options.cgroup_procs_fd = run->cgroup->procs_fd();
    } else {
      log_warn("{}:{} runs without a cgroup: {}", spec.name, instance.id, cgroup.error().message());
    }
  }

  auto pid = process::spawn(options);
  if (!pid.ok()) {
    write_start_failure(instance.output_spec.err_path, pid.error().message(),
                        instance.output_spec.owner_for(instance.output_spec.err_path));
    return fail(pid.error().message(), pid.error().code);
  }
  run->pid = pid.value();
  run->group = run->pid;
  // Only the child may hold the write ends, or the pipes never reach EOF.
  out_write.reset();
  err_write.reset();
  in_read.reset();
  if (in_write) {
    auto writer = StdinWriter::open(loop_, std::move(in_write));
    if (writer.ok())
      run->stdin_writer = std::move(writer.value());
    else
      log_warn("{}:{} stdin: {} (`drove send` cannot reach it)", spec.name, instance.id, writer.error().message());
  }
  run->output = logs_.attach(instance.output_spec, std::move(out_read), std::move(err_read));
  if (const auto& error = run->output->open_error()) {
    instance.last_error = error->message();
    log_warn("{}:{} log file: {} (the app runs; its output is counted as dropped)", spec.name, instance.id,
             instance.last_error);
  }
  Run* raw = run.get();
  reaper_.watch(raw->pid, [this, raw](process::ExitStatus status) { on_run_exit(*raw, status); });
  if (channel_ours) {
    channel_theirs.reset();
    open_channel(*raw, std::move(channel_ours));
  }
  if (instance.created_at_ms == 0) instance.created_at_ms = raw->started_at_ms;
  if (incoming) {
    instance.incoming = std::move(run);
  } else {
    instance.run = std::move(run);
    write_pid_file(instance.pid_file_path, raw->pid, instance.pid_file_owner);
  }
  emit(instance, events::Spawn{raw->pid, incoming});
  arm_readiness(*raw);
  return raw;
}

// The daemon's end of a run's IPC channel: its messages go to on_channel_message, and a cluster
// worker is registered with the app's primary. Also used for a run taken back from a previous
// daemon (survival.cpp).
void Supervisor::open_channel(Run& run, UniqueFd ours) {
  Run* raw = &run;
  const AppSpec& spec = run.instance->app->spec;
  Instance& instance = *run.instance;
  App& app = *instance.app;
  auto channel = ipc::Channel::open(
      loop_, std::move(ours),
      {.on_message = [this, raw](const nlohmann::json& message,
                                 UniqueFd fd) { on_channel_message(*raw, message, std::move(fd)); },
       .on_close =
           [this, raw](int) {
             bool served = false;
             if (auto* primary = raw->instance->app->primary.get()) {
               served = primary->asked_for_server(raw->worker_id);
               primary->remove_worker(raw->worker_id);
             }
             // A cluster worker stopped by `disconnect` that served nothing and still runs once
             // its channel closed (a timer, a queue consumer: nothing of Node's ends it) gets the
             // stop signal now, as PM2 would send it, instead of SIGKILL at kill_timeout. One that
             // served may still be finishing requests: it is left to end by itself.
             if (!served && raw->terminating && !raw->termination.signalled && raw->pid != 0) signal_run(*raw);
           },
       .on_dropped = [this, raw](const std::string& reason) { on_dropped_message(*raw->instance, reason); }});
  if (channel.ok()) {
    raw->channel = std::move(channel.value());
    if (app.primary) app.primary->add_worker(raw->worker_id, raw->channel.get(), instance.index);
  } else {
    log_warn("{}:{} has no IPC channel: {}", spec.name, instance.id, channel.error().message());
  }
}

// Without a readiness signal to wait for, a process serves as soon as it runs. A
// socket-activated app that does not opt into sd_notify gets a short grace period (its
// connections queue in the daemon's socket meanwhile). Otherwise it has listen_timeout: a
// replacement that is not ready by then fails its reload (unless it and the workers it
// replaces serve nothing: then it is as ready as they were); a plain start is considered
// online anyway, with a warning (as PM2).
void Supervisor::arm_readiness(Run& run) {
  const AppSpec& spec = run.instance->app->spec;
  const bool node_cluster = spec.exec_mode == ExecMode::cluster && speaks_node_ipc(spec);
  const bool activation = spec.exec_mode == ExecMode::cluster && !speaks_node_ipc(spec) && run.instance->app->primary;
  Run* raw = &run;
  if (!spec.wait_ready && !node_cluster && !activation) {
    mark_ready(run);
    return;
  }
  if (activation && !spec.wait_ready) {
    run.timer.start(std::min(kActivationGraceMs, spec.listen_timeout_ms), [this, raw] { mark_ready(*raw); });
    return;
  }
  run.timer.start(spec.listen_timeout_ms, [this, raw] {
    if (raw->ready || raw->terminating || raw->pid == 0) return;
    Instance& owner = *raw->instance;
    const AppSpec& app_spec = owner.app->spec;
    const std::string waited = std::to_string(app_spec.listen_timeout_ms) + " ms";
    const auto* primary = owner.app->primary.get();
    const bool serves_nothing = raw->said_online && primary && !primary->asked_for_server(raw->worker_id);
    if (owner.incoming.get() == raw &&
        !(serves_nothing && !app_spec.wait_ready && peer_listening_keys(*owner.app).empty())) {
      on_incoming_failed(owner, "its replacement was not ready within listen_timeout (" + waited + ")");
    } else if (!app_spec.wait_ready && raw->said_online) {
      mark_ready(*raw);  // a cluster worker with no server: nothing more to wait for
    } else {
      log_warn("{}:{} not ready within listen_timeout ({}): considered online", app_spec.name, owner.id, waited);
      owner.last_error = "not ready within listen_timeout (" + waited + ")";
      owner.ready_timed_out = true;
      mark_ready(*raw);
    }
  });
}

// Each spawn blocks the loop until exec (about a millisecond): thousands of them in one
// callback would hold every other app's accept path for seconds. Starts asked in bulk (scale)
// are queued and run a batch per loop turn, bounded by time, with I/O polled between.
void Supervisor::queue_start(Instance& instance) {
  instance.restart_timer.cancel();
  instance.last_error.clear();
  instance.ready_timed_out = false;
  transition(instance, InstanceEvent::start);
  if (instance.start_queued) return;
  instance.start_queued = true;
  starts_.push(instance.id);
}

// TurnQueue item of starts_: the instance may have been deleted, stopped or started since.
void Supervisor::start_queued(int id) {
  auto it = instances_.find(id);
  if (it == instances_.end() || !it->second->start_queued) return;
  start_instance(*it->second);
}

// Stopping costs a few system calls per instance (cgroup.kill or a /proc scan, pidfds, the
// stop signal): `stop` of 1,000 instances in one callback held the loop ~0.8 s. Supervisor::stop
// begins the first stops at once while they fit in the turn's budget; the rest wait in stops_
// and run a batch per loop turn.
void Supervisor::queue_stop(Instance& instance) {
  if (instance.stop_queued) return;
  instance.stop_queued = true;
  stops_.push(instance.id);
}

void Supervisor::stop_queued(int id) {
  auto it = instances_.find(id);
  if (it == instances_.end() || !it->second->stop_queued) return;
  it->second->stop_queued = false;
  begin_stop(*it->second);
}

void Supervisor::start_instance(Instance& instance) {
  instance.start_queued = false;
  instance.restart_timer.cancel();
  instance.stop_requested = false;
  instance.last_error.clear();
  instance.ready_timed_out = false;
  instance.cpu_percent = 0;
  instance.memory_bytes = 0;
  instance.private_memory_bytes = 0;
  instance.open_fds = 0;
  instance.threads = 0;
  instance.tree_processes = 0;
  instance.last_cpu_ticks = 0;
  transition(instance, InstanceEvent::start);
  if (launch(instance, false)) {
    instance.transient_start_failures = 0;
    return;
  }
  if (!is_transient_start_error(launch_error_code_)) {
    transition(instance, InstanceEvent::start_failed);
    return;
  }
  // The host is short of descriptors or processes for now: not the app's fault, and not a
  // restart the policy should count. Retry with back-off until it starts.
  const int shift = std::min(instance.transient_start_failures, 6);
  const std::int64_t delay_ms = std::min<std::int64_t>(kTransientRetryFirstMs << shift, kTransientRetryMaxMs);
  ++instance.transient_start_failures;
  log_warn("{}:{} could not start ({}): retrying in {} ms", instance.app->spec.name, instance.id, instance.last_error,
           delay_ms);
  transition(instance, InstanceEvent::start_deferred);
  instance.restart_timer.start(delay_ms, [this, &instance] {
    if (instance.state == InstanceState::waiting_restart) start_instance(instance);
  });
}

void Supervisor::mark_ready(Run& run) {
  if (run.ready || run.terminating || run.pid == 0) return;
  run.ready = true;
  run.timer.cancel();
  run.probe.cancel();
  Instance& instance = *run.instance;
  if (instance.incoming.get() == &run) {
    on_incoming_ready(instance);
  } else if (instance.run.get() == &run && instance.state == InstanceState::launching) {
    transition(instance, InstanceEvent::ready);
  }
}

void Supervisor::on_run_exit(Run& run, process::ExitStatus status) {
  Instance& instance = *run.instance;
  const App& app = *instance.app;
  const pid_t old_pid = run.pid;
  const std::int64_t uptime = run.uptime_ms(monotonic_ms());
  run.pid = 0;
  run.exit = status;
  // Connections in flight to it go to the others now, not when its channel drains.
  if (app.primary) app.primary->remove_worker(run.worker_id);
  emit(instance, events::Exit{old_pid, status.code, status.signal, uptime});
  instance.record_exit({.at_ms = wall_ms(), .status = status, .uptime_ms = uptime, .stopped = run.terminating});
  if (run.terminating) {
    poll_terminating(run);
    return;
  }
  if (instance.incoming.get() == &run) {
    on_incoming_failed(instance, "its replacement ended with " + status.describe() + " before it was ready");
    return;
  }
  if (instance.run.get() != &run) return;  // a retiring run, already being terminated

  // The current process crashed (or exited on its own).
  instance.last_exit = status;
  remove_pid_file(instance.pid_file_path, instance.pid_file_owner);
  log_info("{}:{} (pid {}) ended with {} after {} ms", app.spec.name, instance.id, old_pid, status.describe(), uptime);
  if (instance.incoming) on_incoming_failed(instance, "the process it was replacing crashed");
  // Leftovers of the crashed process (its children, still in its group) would hold its port:
  // they go before the replacement starts. The group check is one syscall; the /proc scan
  // happens only when something is left.
  if (app.spec.treekill && tree_alive(run, true)) {
    terminate(run, [this, &instance] { after_crash(instance); });
    return;
  }
  after_crash(instance);
}

void Supervisor::after_crash(Instance& instance) {
  App& app = *instance.app;
  const std::int64_t uptime = instance.run ? instance.run->uptime_ms(monotonic_ms()) : 0;
  const auto exit = instance.last_exit;
  bury(std::move(instance.run));
  RunEnd run_end{.exit_code = exit && !exit->killed_by_signal() ? std::optional<int>(exit->code) : std::nullopt,
                 .uptime_ms = uptime};
  RestartDecision d = decide_restart(app.restart_policy(), run_end, instance.history);
  instance.history = d.next;
  switch (d.action) {
    case RestartDecision::Action::stop:
      log_info("{}:{} not restarted: {}", app.spec.name, instance.id, d.reason);
      transition(instance, InstanceEvent::exit_stopped);
      return;
    case RestartDecision::Action::errored:
      instance.last_error = d.reason;
      log_warn("{}:{} errored: {}", app.spec.name, instance.id, d.reason);
      transition(instance, InstanceEvent::exit_errored);
      return;
    case RestartDecision::Action::restart:
      if (instance.stop_queued) {  // a stop waits for its turn (queue_stop): nothing to restart
        transition(instance, InstanceEvent::exit_stopped);
        return;
      }
      if (d.delay_ms <= 0) {
        ++instance.restart_time;
        start_instance(instance);
        return;
      }
      // restart_time counts restarts done, as PM2: this one once its delay has passed.
      transition(instance, InstanceEvent::exit_restart_later);
      instance.restart_timer.start(d.delay_ms, [this, &instance] {
        if (instance.state != InstanceState::waiting_restart) return;
        ++instance.restart_time;
        start_instance(instance);
      });
      return;
  }
}

// Stops one run gracefully: the stop signal (or the 'shutdown' message) to its whole tree,
// SIGKILL after kill_timeout, and `on_gone` once the process is reaped and the tree is gone.
void Supervisor::terminate(Run& run, Done on_gone) {
  const AppSpec& spec = run.instance->app->spec;
  auto* primary = run.instance->app->primary.get();
  const bool already = run.terminating;
  run.on_gone = std::move(on_gone);
  if (already) return;
  run.terminating = true;
  run.termination = {.began_ms = monotonic_ms()};
  // Without a cgroup, the tree is recorded now (and refreshed before each signal).
  if (spec.treekill && !run.cgroup && !run.tree)
    run.tree = process::TreeSnapshot::take(tree_identity(run), run.pid != 0);
  if (primary) primary->stop_routing(run.worker_id);
  const bool channel_open = run.channel && run.channel->is_open() && run.pid != 0;
  if (channel_open && primary && spec.exec_mode == ExecMode::cluster && speaks_node_ipc(spec) &&
      !spec.shutdown_with_message) {
    // Node's graceful worker stop: it closes its servers, finishes in-flight requests, exits.
    primary->disconnect(run.worker_id);
  } else if (channel_open && spec.shutdown_with_message) {
    (void)run.channel->send("shutdown");
  } else {
    signal_run(run);
  }
  poll_terminating(run);
}

void Supervisor::signal_run(Run& run) {
  const AppSpec& spec = run.instance->app->spec;
  run.termination.signalled = true;
  if (spec.treekill && run.cgroup) {
    run.cgroup->signal(stop_signal(spec));
  } else if (spec.treekill && run.tree) {
    run.tree->refresh(run.pid != 0);
    run.tree->signal(stop_signal(spec));
  } else if (run.pid != 0) {
    run.signal_main(stop_signal(spec));
  }
}

process::TreeSnapshot::Identity Supervisor::tree_identity(const Run& run) const {
  return {.root = run.group,
          .marker = run_marker(run),
          .is_other_run = [this, self = run.pid](pid_t pid) { return pid != self && reaper_.watching(pid); },
          .table = [this]() -> const process::ProcTable& { return proc_table_.get(); }};
}

// Whether anything of the run's tree is left. Without a cgroup, `rescan` looks in /proc for
// processes that joined since the last scan once every recorded one is gone.
bool Supervisor::tree_alive(Run& run, bool rescan) {
  if (run.cgroup) return run.cgroup->populated();
  if (!run.tree) run.tree = process::TreeSnapshot::take(tree_identity(run), run.pid != 0);
  return run.tree->alive(rescan);
}

void Supervisor::poll_terminating(Run& run) {
  const AppSpec& spec = run.instance->app->spec;
  const process::TerminationView view{.now_ms = monotonic_ms(),
                                      .main_alive = run.pid != 0,
                                      .tree_alive = spec.treekill && tree_alive(run, run.pid == 0)};
  const process::TerminationStep step =
      process::next_termination_step(run.termination, {.kill_timeout_ms = spec.kill_timeout_ms}, view);
  if (step.signal_stop) signal_run(run);
  run.termination = step.next;
  if (step.done) {
    if (step.gave_up)
      log_error("{}:{} left processes that survive SIGKILL; reporting stopped", spec.name, run.instance->id);
    run.timer.cancel();
    auto done = std::move(run.on_gone);
    run.on_gone = nullptr;
    if (done) done();  // may bury the run: nothing after this
    return;
  }
  if (step.kill) {
    log_warn("{}:{} still running {} ms after {}: sending SIGKILL", spec.name, run.instance->id,
             view.now_ms - run.termination.began_ms, spec.kill_signal);
    if (spec.treekill && run.cgroup) {
      run.cgroup->kill_all();
    } else if (spec.treekill && run.tree) {
      run.tree->refresh(run.pid != 0);
      run.tree->signal(SIGKILL);
    }
    if (run.pid != 0) run.signal_main(SIGKILL);
  }
  Run* self = &run;
  run.timer.start(step.wake_in_ms, [this, self] { poll_terminating(*self); });
}

void Supervisor::begin_stop(Instance& instance) {
  // Not reloaded any more: a stopped slot must not hold its app's reload (begin_stops forgets
  // a whole request's slots at once; this covers the rest).
  if (App& app = *instance.app; app.reload) app.reload->forget({instance.id});
  if (instance.start_queued) {
    // Never started: nothing to stop.
    instance.start_queued = false;
    transition(instance, InstanceEvent::cancel_start);
    if (!instance.has_processes()) return finish_stop(instance);
  }
  switch (instance.state) {
    case InstanceState::stopped:
    case InstanceState::errored:
      if (!instance.has_processes()) return finish_stop(instance);
      break;
    case InstanceState::waiting_restart:
      instance.restart_timer.cancel();
      transition(instance, InstanceEvent::stop);
      if (!instance.has_processes()) return finish_stop(instance);
      break;
    case InstanceState::stopping:
      return;  // on its way; the waiters are served when it is done
    case InstanceState::launching:
    case InstanceState::online:
      transition(instance, InstanceEvent::stop);
      break;
  }
  // Every process of the slot goes: current, replacement, and the ones retiring.
  std::vector<Run*> runs;
  if (instance.run) runs.push_back(instance.run.get());
  if (instance.incoming) runs.push_back(instance.incoming.get());
  for (auto& r : instance.retiring) runs.push_back(r.get());
  auto remaining = std::make_shared<size_t>(runs.size());
  for (Run* run : runs) {
    terminate(*run, [this, &instance, run, remaining] {
      if (instance.run.get() == run) {
        remove_pid_file(instance.pid_file_path, instance.pid_file_owner);
        if (run->exit) instance.last_exit = run->exit;
        bury(std::move(instance.run));
      } else if (instance.incoming.get() == run) {
        bury(std::move(instance.incoming));
      } else {
        for (auto& r : instance.retiring) {
          if (r.get() == run) bury(std::move(r));
        }
        std::erase(instance.retiring, nullptr);
      }
      if (--*remaining == 0) {
        transition(instance, InstanceEvent::gone);
        finish_stop(instance);
      }
    });
  }
}

void Supervisor::finish_stop(Instance& instance) {
  auto waiters = std::move(instance.stop_waiters);
  instance.stop_waiters.clear();
  for (auto& waiter : waiters) waiter();
}

void Supervisor::bury(std::unique_ptr<Run> run) {
  if (!run) return;
  run->timer.cancel();
  run->probe.cancel();
  if (run->pid != 0) reaper_.unwatch(run->pid);
  if (auto* primary = run->instance->app->primary.get()) primary->remove_worker(run->worker_id);
  run->channel.reset();
  // Its output may still be in the pipe (or held by a child that outlived it): it drains on.
  if (run->output && !run->output->drained()) {
    draining_.push_back(std::move(run->output));
    auto it = std::prev(draining_.end());
    (*it)->on_drained([this, it] { draining_.erase(it); });
  }
  graveyard_.push_back(std::move(run));
  collect_later();
}

// Runs, instances and apps that are finished are freed once the current loop turn is over,
// never inside a callback that may still hold a reference to them.
void Supervisor::collect_later() {
  uv_check_start(collector_.get(), [](uv_check_t* c) {
    loop_barrier("instance collector", [c] {
      auto* self = owner_of<Supervisor>(c);
      if (!self) return;
      self->graveyard_.clear();
      self->deleted_.clear();
      self->deleted_apps_.clear();
      self->finished_reloads_.clear();
    });
    uv_check_stop(c);
  });
}

}  // namespace drove::supervisor
