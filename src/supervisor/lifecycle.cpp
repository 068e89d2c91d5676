// The life of runs: launching a process for an instance, its exit, graceful termination of
// its whole tree, and what a crash leads to (restart policy).
#include <signal.h>
#include <unistd.h>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "process/spawn.hpp"
#include "supervisor/instance_env.hpp"
#include "supervisor/output_files.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::supervisor {
namespace {

constexpr std::int64_t kTreePollMs = 5;
constexpr std::int64_t kGiveUpAfterKillMs = 5000;

int stop_signal(const AppSpec& spec) {
  const int sig = process::signal_from_name(spec.kill_signal);
  return sig ? sig : SIGINT;
}

}  // namespace

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
        auto* self = owner_of<ActionTimer>(t);
        if (!self || !self->action) return;
        auto fire = self->action;  // the action may re-arm (replace) or cancel the timer
        fire();
      },
      static_cast<std::uint64_t>(std::max<std::int64_t>(delay_ms, 0)), 0);
}

void ActionTimer::cancel() {
  if (handle) uv_timer_stop(handle.get());
  action = nullptr;
}

Run* Supervisor::launch(Instance& instance, bool incoming) {
  App& app = *instance.app;
  auto run = std::make_unique<Run>();
  run->worker_id = next_worker_id_++;
  run->instance = &instance;
  run->timer.init(loop_);

  std::string file;
  std::vector<std::string> argv = instance_argv(app.spec, file);
  auto outputs = open_outputs(instance, app.spec);
  if (!outputs.ok()) {
    instance.last_error = outputs.error().message();
    log_error("{}:{} cannot open its log files: {}", app.spec.name, instance.id, instance.last_error);
    return nullptr;
  }
  run->started_mono_ms = monotonic_ms();
  run->started_at_ms = wall_ms();
  process::SpawnOptions options{
      .file = file,
      .argv = std::move(argv),
      .env = instance_env(instance, *run, notify_.path()),
      .cwd = app.spec.cwd,
      .fds = {{1, outputs->out.get()}, {2, outputs->err.get()}},
      .new_session = true,
  };
  auto pid = process::spawn(options);
  if (!pid.ok()) {
    instance.last_error = pid.error().message();
    log_error("{}:{} failed to start: {}", app.spec.name, instance.id, instance.last_error);
    write_start_failure(*outputs, instance.last_error);
    emit("start_failed", instance, {{"error", instance.last_error}});
    return nullptr;
  }
  run->pid = pid.value();
  run->group = run->pid;
  Run* raw = run.get();
  reaper_.watch(raw->pid, [this, raw](process::ExitStatus status) { on_run_exit(*raw, status); });
  if (instance.created_at_ms == 0) instance.created_at_ms = raw->started_at_ms;
  if (incoming) {
    instance.incoming = std::move(run);
  } else {
    instance.run = std::move(run);
    write_pid_file(instance.pid_file_path, raw->pid);
  }
  // Without a readiness signal to wait for, a process is serving as soon as it runs. Otherwise
  // it has listen_timeout to become ready: a replacement that does not fails its reload; a
  // plain start is then considered online anyway, with a warning (as PM2).
  if (!app.spec.wait_ready && !holds_sockets(app)) {
    raw->ready = true;
  } else {
    raw->timer.start(app.spec.listen_timeout_ms, [this, raw] {
      if (raw->ready || raw->terminating || raw->pid == 0) return;
      Instance& owner = *raw->instance;
      const std::string waited = std::to_string(owner.app->spec.listen_timeout_ms) + " ms";
      if (owner.incoming.get() == raw) {
        on_incoming_failed(owner, "its replacement was not ready within listen_timeout (" + waited + ")");
      } else {
        log_warn("{}:{} not ready within listen_timeout ({}): considered online", owner.app->spec.name, owner.id, waited);
        mark_ready(*raw);
      }
    });
  }
  emit("spawn", instance, {{"pid", raw->pid}, {"incoming", incoming}});
  return raw;
}

void Supervisor::start_instance(Instance& instance) {
  instance.restart_timer.cancel();
  instance.last_error.clear();
  instance.cpu_percent = 0;
  instance.memory_bytes = 0;
  instance.last_cpu_ticks = 0;
  set_state(instance, InstanceState::launching);
  Run* run = launch(instance, false);
  if (!run) {
    set_state(instance, InstanceState::errored);
    return;
  }
  if (run->ready) set_state(instance, InstanceState::online);
}

void Supervisor::mark_ready(Run& run) {
  if (run.ready) return;
  run.ready = true;
  Instance& instance = *run.instance;
  if (instance.incoming.get() == &run) {
    on_incoming_ready(instance);
  } else if (instance.run.get() == &run && instance.state == InstanceState::launching) {
    set_state(instance, InstanceState::online);
  }
}

void Supervisor::on_run_exit(Run& run, process::ExitStatus status) {
  Instance& instance = *run.instance;
  const App& app = *instance.app;
  const pid_t old_pid = run.pid;
  const std::int64_t uptime = run.uptime_ms(monotonic_ms());
  run.pid = 0;
  run.exit = status;
  emit("exit", instance, {{"pid", old_pid}, {"code", status.code},
                          {"signal", status.signal ? process::signal_name(status.signal) : ""}, {"uptime_ms", uptime}});
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
  remove_pid_file(instance.pid_file_path);
  log_info("{}:{} (pid {}) ended with {} after {} ms", app.spec.name, instance.id, old_pid, status.describe(), uptime);
  if (instance.incoming) on_incoming_failed(instance, "the process it was replacing crashed");
  // Leftovers of the crashed process (its children, still in its group) would hold its port:
  // they go before the replacement starts. The group check is one syscall; the /proc scan
  // happens only when something is left.
  if (app.spec.treekill && ::kill(-old_pid, 0) == 0) {
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
        return;
      }
      set_state(instance, InstanceState::waiting_restart);
      instance.restart_timer.start(d.delay_ms, [this, &instance] {
        if (instance.state == InstanceState::waiting_restart) start_instance(instance);
      });
      return;
  }
}

// Stops one run gracefully: the stop signal (or the 'shutdown' message) to its whole tree,
// SIGKILL after kill_timeout, and `on_gone` once the process is reaped and the tree is gone.
void Supervisor::terminate(Run& run, Done on_gone) {
  const AppSpec& spec = run.instance->app->spec;
  const bool already = run.terminating;
  run.on_gone = std::move(on_gone);
  if (already) return;
  run.terminating = true;
  run.killed = false;
  run.terminate_began_mono_ms = monotonic_ms();
  if (spec.treekill) {
    // Taken from the group leader's pid even when it has exited: its group may hold leftovers.
    run.tree = process::TreeSnapshot::take(run.group);
    run.tree->signal(stop_signal(spec));
  } else if (run.pid != 0) {
    ::kill(run.pid, stop_signal(spec));
  }
  poll_terminating(run);
}

void Supervisor::poll_terminating(Run& run) {
  const AppSpec& spec = run.instance->app->spec;
  const std::int64_t elapsed = monotonic_ms() - run.terminate_began_mono_ms;
  const bool tree_alive = spec.treekill && run.tree && run.tree->alive();
  const bool give_up = run.killed && run.pid == 0 && elapsed >= spec.kill_timeout_ms + kGiveUpAfterKillMs;
  if (run.pid == 0 && (!tree_alive || give_up)) {
    if (give_up) log_error("{}:{} left processes that survive SIGKILL; reporting stopped", spec.name, run.instance->id);
    run.timer.cancel();
    auto done = std::move(run.on_gone);
    run.on_gone = nullptr;
    if (done) done();  // may bury the run: nothing after this
    return;
  }
  if (!run.killed && elapsed >= spec.kill_timeout_ms) {
    run.killed = true;
    log_warn("{}:{} still running {} ms after {}: sending SIGKILL", spec.name, run.instance->id, elapsed, spec.kill_signal);
    if (run.tree) run.tree->signal(SIGKILL);
    if (run.pid != 0) ::kill(run.pid, SIGKILL);
  }
  // The reaper reports the main process's exit; the timer is for the kill deadline and, once
  // the main process is gone, for watching the rest of the tree go.
  const std::int64_t until_kill = run.killed ? kTreePollMs : std::max<std::int64_t>(1, spec.kill_timeout_ms - elapsed);
  const std::int64_t next = run.pid != 0 ? until_kill : std::min(kTreePollMs, until_kill);
  Run* self = &run;
  run.timer.start(next, [this, self] { poll_terminating(*self); });
}

void Supervisor::begin_stop(Instance& instance) {
  if (App& app = *instance.app; app.reload.active) {
    std::erase(app.reload.queue, &instance);
  }
  switch (instance.state) {
    case InstanceState::stopped:
    case InstanceState::errored:
      if (!instance.has_processes()) return finish_stop(instance);
      break;
    case InstanceState::waiting_restart:
      instance.restart_timer.cancel();
      set_state(instance, InstanceState::stopped);
      if (!instance.has_processes()) return finish_stop(instance);
      break;
    case InstanceState::stopping:
      return;  // on its way; the waiters are served when it is done
    case InstanceState::launching:
    case InstanceState::online:
      set_state(instance, InstanceState::stopping);
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
        remove_pid_file(instance.pid_file_path);
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
        set_state(instance, InstanceState::stopped);
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
  if (run->pid != 0) reaper_.unwatch(run->pid);
  graveyard_.push_back(std::move(run));
  collect_later();
}

// Runs, instances and apps that are finished are freed once the current loop turn is over,
// never inside a callback that may still hold a reference to them.
void Supervisor::collect_later() {
  uv_check_start(collector_.get(), [](uv_check_t* c) {
    auto* self = owner_of<Supervisor>(c);
    if (!self) return;
    self->graveyard_.clear();
    self->deleted_.clear();
    self->deleted_apps_.clear();
    uv_check_stop(c);
  });
}

}  // namespace drove::supervisor
