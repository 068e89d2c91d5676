#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "base/loop_meter.hpp"
#include "base/loop_timer.hpp"
#include "base/unique_fd.hpp"
#include "base/unix_socket.hpp"
#include "base/uv_handle.hpp"
#include "daemon/event_json.hpp"
#include "daemon/methods.hpp"
#include "daemon/metrics_endpoint.hpp"
#include "daemon/rpc_server.hpp"
#include "process/reaper.hpp"
#include "process/service_notifier.hpp"
#include "process/spawn.hpp"
#include "state/home.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::daemon {
namespace {

// Takes the daemon's lifetime lock and writes our pid. Fails with EWOULDBLOCK when another
// daemon holds it.
Result<UniqueFd> lock_pid_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return last_error("open \"" + path + "\"");
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return last_error("lock \"" + path + "\"");
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return last_error("write \"" + path + "\"");
  }
  return fd;
}

// The daemon holds several descriptors per app (pipes, channel, sockets, pidfds): the usual
// 1,024 soft limit runs out near 300 instances. Node raises its soft limit to the hard one at
// start, so PM2 (and the apps it forks, which inherit it) run with the raised limit; drove does
// the same, and apps inherit it too (docs/reliability.md).
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    log_warn("cannot raise the descriptor limit from {} to {}: {}", before, limit.rlim_max, std::strerror(errno));
    return;
  }
  log_info("descriptor limit raised from {} to {}", before, limit.rlim_max);
}

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& options)
      : options_(options),
        meter_(uv_default_loop()),
        reaper_(uv_default_loop()),
        supervisor_(uv_default_loop(), reaper_,
                    {.home = options.home.root,
                     .logs_dir = options.home.logs_dir(),
                     .pids_dir = options.home.pids_dir(),
                     .default_log_files = !options.runtime}),
        server_(uv_default_loop(), [this](RpcRequest& req, const RpcReply& reply) { dispatch(context_, req, reply); }),
        dumps_(uv_default_loop(), options.home.dump()),
        context_{uv_default_loop(),
                 supervisor_,
                 server_,
                 options.home.dump(),
                 dumps_,
                 [this] { shutdown_now(); },
                 [this] { ensure_log_stream(); },
                 &meter_} {
    supervisor_.set_event_sink([this](const supervisor::Event& event) {
      if (server_.has_subscribers("events")) server_.broadcast("events", event_json(event));
      if (options_.runtime) on_runtime_event(event);
    });
    if (options_.runtime) {
      forwarder_.emplace(uv_default_loop(), supervisor_.logs(),
                         StdioForwarder::Options{.style = options_.runtime->style});
    }
  }

  int run() {
    uv_loop_t* loop = uv_default_loop();
    if (auto s = server_.listen(options_.home.socket()); !s.ok()) {
      log_error("{}", s.error().message());
      return 1;
    }
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) {
      auto handle = UvHandle<uv_signal_t>::make();
      uv_signal_init(loop, handle.get());
      handle->data = this;
      uv_signal_start(
          handle.get(),
          [](uv_signal_t* h, int signum) {
            loop_barrier("signal handler", [h, signum] {
              if (auto* self = owner_of<Daemon>(h)) self->on_signal(signum);
            });
          },
          sig);
      signals_.push_back(std::move(handle));
    }
    log_info("drove daemon {} started (pid {}, home {})", DROVE_VERSION, ::getpid(), options_.home.root);
    if (auto endpoint = MetricsEndpoint::from_environment("/proc/self/exe")) {
      endpoint->token_path = options_.home.web_token();
      endpoint_.emplace(loop, reaper_, server_, std::move(*endpoint));
      context_.metrics_endpoint = &*endpoint_;
      endpoint_->start();
    }
    start_service_notifications();
    if (options_.runtime) {
      start_runtime_apps();
    } else if (options_.resurrect) {
      resurrect_saved_list();
    } else {
      notify_ready("");
    }
    uv_run(loop, UV_RUN_DEFAULT);
    log_info("drove daemon exits{}", options_.runtime ? fmt::format(" with status {}", exit_code_) : "");
    return exit_code_;
  }

 private:
  void on_signal(int signum) {
    if (signum == SIGHUP || signum == SIGUSR2) {
      // External logrotate moved the files: reopen them.
      if (auto s = supervisor_.logs().reopen_all(); !s.ok()) log_warn("reopening log files: {}", s.error().message());
      // The runtime is the container's PID 1: a SIGHUP sent to the container is for the apps.
      if (signum == SIGHUP && options_.runtime) forward_signal(SIGHUP);
      return;
    }
    log_info("{} received: stopping every app", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    stop_everything();
  }

  // Stops every app gracefully (each within its kill_timeout), then the loop.
  void stop_everything() {
    if (stopping_) return;
    stopping_ = true;
    idle_timer_.stop();
    notify("STOPPING=1\nSTATUS=stopping every app");
    supervisor_.stop_all([this] { shutdown_now(); });
  }

  // --- drove runtime (daemon.hpp: RuntimeOptions)

  // `drove start <args>` as a client of this daemon: the file or script is read, checked and
  // turned into apps exactly as on the command line. Its table goes to stderr: stdout carries
  // the apps' lines alone.
  void start_runtime_apps() {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "DROVE_HOME=", 11) != 0) env.emplace_back(*e);
    }
    env.push_back("DROVE_HOME=" + options_.home.root);
    std::vector<std::string> argv{"drove", "start"};
    argv.insert(argv.end(), options_.runtime->start_args.begin(), options_.runtime->start_args.end());
    process::SpawnOptions spawn{.file = "/proc/self/exe",
                                .argv = std::move(argv),
                                .env = std::move(env),
                                .fds = {{1, STDERR_FILENO}, {2, STDERR_FILENO}}};
    auto pid = process::spawn(spawn);
    if (!pid.ok()) {
      log_error("starting the apps: {}", pid.error().message());
      exit_code_ = kRuntimeStartFailed;
      return stop_everything();
    }
    reaper_.watch(*pid, [this](process::ExitStatus status) {
      if (status.code != 0 || status.killed_by_signal()) {
        log_error("the apps could not be started ({}): the runtime exits {}", status.describe(),
                  static_cast<int>(kRuntimeStartFailed));
        exit_code_ = kRuntimeStartFailed;
        return stop_everything();
      }
      apps_started_ = true;
      notify_ready("");
      evaluate_runtime();
    });
  }

  void on_runtime_event(const supervisor::Event& event) {
    if (const auto* exit = std::get_if<supervisor::events::Exit>(&event.data)) {
      // An exit while the instance was being stopped was asked for (stop, restart, reload).
      const supervisor::Instance* instance = supervisor_.find_instance(event.id);
      const bool requested = instance != nullptr && instance->state == supervisor::InstanceState::stopping;
      failed_[event.id] = !requested && (exit->code != 0 || exit->signal != 0);
    }
    if (std::holds_alternative<supervisor::events::Deleted>(event.data)) failed_.erase(event.id);
    evaluate_runtime();
  }

  // Ends the runtime when an app has errored, or (after a second's grace: a restart passes
  // through states where nothing runs) when no app runs any more.
  void evaluate_runtime() {
    if (!apps_started_ || stopping_ || !options_.runtime->auto_exit) return;
    bool alive = false;
    for (const supervisor::Instance* i : supervisor_.instances()) {
      if (i->state == supervisor::InstanceState::errored) {
        log_error("{} (id {}) errored: its restarts are exhausted; the runtime stops every app and exits {}",
                  i->app->spec.name, i->id, static_cast<int>(kRuntimeAppsFailed));
        exit_code_ = kRuntimeAppsFailed;
        return stop_everything();
      }
      if (i->state != supervisor::InstanceState::stopped) alive = true;
    }
    if (alive) {
      idle_timer_.stop();
      return;
    }
    if (!idle_timer_.active()) idle_timer_.start(uv_default_loop(), 1000, 0, [this] { on_idle_timer(); });
  }

  void on_idle_timer() {
    idle_timer_.stop();
    for (const supervisor::Instance* i : supervisor_.instances()) {
      if (i->state != supervisor::InstanceState::stopped) return evaluate_runtime();
    }
    bool failed = false;
    for (const auto& [id, f] : failed_) failed = failed || f;
    exit_code_ = failed ? kRuntimeAppsFailed : kRuntimeStopped;
    log_info("no app runs any more{}: the runtime exits {}", failed ? " (the last ones failed)" : "", exit_code_);
    stop_everything();
  }

  void forward_signal(int signum) {
    auto targets = supervisor_.resolve({"all"});
    if (!targets.ok()) return;  // no app
    if (auto s = supervisor_.send_signal(*targets, signum); !s.ok())
      log_warn("forwarding the signal: {}", s.error().message);
  }

  // Log lines are forwarded only while someone streams them: with no subscriber, the log
  // engine does no per-line work for subscribers at all.
  void ensure_log_stream() {
    if (log_token_ >= 0) return;
    log_token_ = supervisor_.logs().subscribe([this](const logs::LogLine& line) {
      if (!server_.has_subscribers("logs")) {
        const int token = log_token_;
        log_token_ = -1;
        supervisor_.logs().unsubscribe(token);
        return;
      }
      const nlohmann::json event = {{"event", "log"},        {"id", line.instance_id},
                                    {"name", line.app_name}, {"stream", line.is_err ? "err" : "out"},
                                    {"text", line.text},     {"at", line.timestamp_ms}};
      server_.broadcast("logs", event, [&line](const nlohmann::json& filter) {
        auto ids = filter.find("ids");
        if (ids == filter.end() || !ids->is_array()) return true;
        for (const auto& id : *ids) {
          if (id == line.instance_id) return true;
        }
        return false;
      });
    });
  }

  // --- systemd (process/service_notifier.hpp)

  void start_service_notifications() {
    auto notifier = process::ServiceNotifier::from_environment();
    if (!notifier) return;
    if (!notifier->ok()) {
      log_warn("NOTIFY_SOCKET is set but unusable: {}", notifier->error().message());
      return;
    }
    notifier_.emplace(std::move(notifier->value()));
    const auto period = notifier_->watchdog_period_ms();
    if (!period) return;
    // From the loop: a loop that stops turning stops the keep-alives, and systemd restarts us.
    watchdog_.start(uv_default_loop(), 0, static_cast<std::uint64_t>(*period), [this] { notify("WATCHDOG=1"); });
    log_info("systemd watchdog: WATCHDOG=1 every {} ms", *period);
  }

  void notify(const std::string& state) {
    if (!notifier_) return;
    if (auto s = notifier_->send(state); !s.ok()) log_warn("{}", s.error().message());
  }

  // READY=1 with a STATUS= line saying what runs (systemctl status shows it).
  void notify_ready(const std::string& note) {
    std::size_t online = 0;
    std::set<const supervisor::App*> apps;
    const auto instances = supervisor_.instances();
    for (const supervisor::Instance* i : instances) {
      if (i->state == supervisor::InstanceState::online) ++online;
      apps.insert(i->app);
    }
    const std::string status =
        fmt::format("{} process(es) of {} app(s), {} online{}", instances.size(), apps.size(), online, note);
    log_info("ready: {}", status);
    notify("READY=1\nSTATUS=" + status + "\nMAINPID=" + std::to_string(::getpid()));
  }

  // `drove resurrect`, run by this binary as a client of this daemon: the saved list is read
  // and checked in that process (a bad file never reaches the daemon), and READY=1 waits for
  // it, so `systemctl start` returns once the apps are up (resurrect waits until they are).
  void resurrect_saved_list() {
    struct stat st {};
    if (::stat(options_.home.dump().c_str(), &st) != 0 && ::stat(options_.home.legacy_dump().c_str(), &st) != 0) {
      log_info("no saved process list to resurrect ({})", options_.home.dump());
      return notify_ready(" (no saved list)");
    }
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "DROVE_HOME=", 11) != 0) env.emplace_back(*e);
    }
    env.push_back("DROVE_HOME=" + options_.home.root);
    process::SpawnOptions spawn{.file = "/proc/self/exe",
                                .argv = {"drove", "resurrect"},
                                .env = std::move(env),
                                .cwd = "/",
                                .fds = {{1, STDOUT_FILENO}, {2, STDERR_FILENO}}};
    auto pid = process::spawn(spawn);
    if (!pid.ok()) {
      log_error("resurrect at start: {}", pid.error().message());
      return notify_ready(" (resurrect could not run)");
    }
    log_info("resurrecting the saved process list (pid {})", *pid);
    reaper_.watch(*pid, [this](process::ExitStatus status) {
      const bool ok = status.code == 0 && !status.killed_by_signal();
      if (!ok) log_warn("resurrect at start ended with {}", status.describe());
      notify_ready(ok ? "" : " (resurrect failed: see the log)");
    });
  }

  void shutdown_now() {
    notify(stopping_ ? "STATUS=every app stopped" : "STOPPING=1\nSTATUS=every app stopped");
    watchdog_.stop();
    if (endpoint_) endpoint_->stop();
    server_.close();
    ::unlink(options_.home.socket().c_str());
    signals_.clear();
    uv_stop(uv_default_loop());
  }

  DaemonOptions options_;
  LoopMeter meter_;  // first: idle-time accounting is configured before anything runs
  process::Reaper reaper_;
  supervisor::Supervisor supervisor_;
  RpcServer server_;
  state::DumpWriter dumps_;
  MethodContext context_;
  std::vector<UvHandle<uv_signal_t>> signals_;
  bool stopping_ = false;
  int log_token_ = -1;
  std::optional<process::ServiceNotifier> notifier_;  // run by systemd (Type=notify)
  std::optional<MetricsEndpoint> endpoint_;           // DROVE_METRICS_ADDR: drove-web, after server_
  LoopTimer watchdog_{"watchdog"};
  // drove runtime: after supervisor_ (it reads its log engine), so destroyed before it.
  std::optional<StdioForwarder> forwarder_;
  bool apps_started_ = false;
  std::unordered_map<int, bool> failed_;  // instance id -> its last exit was a failure
  LoopTimer idle_timer_{"runtime idle check"};
  int exit_code_ = 0;
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
  if (auto s = state::prepare_home(options.home); !s.ok()) {
    log_error("{}", s.error().message());
    return 1;
  }
  auto lock = lock_pid_file(options.home.pid_file());
  // The lock is held: either a daemon runs (its socket answers: we are not needed), or one is
  // exiting (`drove kill` just now) or starting. Wait for one or the other, bounded.
  const std::int64_t deadline = monotonic_ms() + 10000;
  while (!lock.ok() && lock.error().code == EWOULDBLOCK && monotonic_ms() < deadline) {
    if (connect_unix(options.home.socket())) {
      if (!options.background) log_error("a drove daemon is already running for {}", options.home.root);
      return options.background ? 0 : 1;
    }
    ::usleep(5000);
    lock = lock_pid_file(options.home.pid_file());
  }
  if (!lock.ok()) {
    log_error("{}", lock.error().message());
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (options.background && ::chdir("/") != 0) log_warn("chdir /: {}", std::strerror(errno));
  process::Reaper::become_subreaper();
  raise_descriptor_limit();
  int code = 0;
  {
    Daemon daemon(options);
    code = daemon.run();
  }
  // Let libuv run the close callbacks of everything the daemon owned.
  uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  ::unlink(options.home.pid_file().c_str());
  return code;
}

}  // namespace drove::daemon
