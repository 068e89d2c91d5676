#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
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
#include "daemon/keeper_link.hpp"
#include "daemon/methods.hpp"
#include "daemon/metrics_endpoint.hpp"
#include "daemon/rpc_server.hpp"
#include "keeper/keeper.hpp"
#include "keeper/protocol.hpp"
#include "process/reaper.hpp"
#include "process/run_capture.hpp"
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

// Methods that change nothing (they are most of the traffic: `list` every second from monit,
// scrapes of `metrics`): no keeper sync after them.
const std::set<std::string> kReadOnlyMethods = {"ping",      "list",        "metrics", "describe",
                                                "subscribe", "unsubscribe", "save"};

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
                     .default_log_files = !options.runtime,
                     .node_metrics_preload = find_node_metrics_preload(),
                     .sample_interval_ms = sample_interval_from_environment(),
                     .history_samples = history_samples_from_environment()}),
        server_(uv_default_loop(),
                [this](RpcRequest& req, const RpcReply& reply) {
                  // Read-only methods change nothing the keeper or the state file must know.
                  const bool changes = !kReadOnlyMethods.count(req.method);
                  dispatch(context_, req, reply);
                  if (changes) schedule_sync();
                }),
        dumps_(uv_default_loop(), options.home.dump()),
        context_{uv_default_loop(),
                 supervisor_,
                 server_,
                 options.home.dump(),
                 dumps_,
                 [this] { shutdown_now(); },
                 [this] { ensure_log_stream(); },
                 &meter_} {
    context_.hand_over = [this] { return hand_over(); };
    context_.keeper_info = [this] { return keeper_info(); };
    supervisor_.set_event_sink([this](const supervisor::Event& event) {
      // An app's own messages change nothing kept; a chatty app must not cost a state write each.
      if (!std::holds_alternative<supervisor::events::Message>(event.data)) schedule_sync();
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
    if (options_.keeper_fd >= 0) take_over_from_keeper();
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
    if (keeper_) keeper_->ready();
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

  // Surviving the daemon: what the keeper handed back (after a crash or `update`) taken over,
  // then the keeper kept in step with every change.
  void take_over_from_keeper() {
    auto link = KeeperLink::open(uv_default_loop(), UniqueFd(options_.keeper_fd), options_.home.root + "/daemon.state");
    if (!link.ok()) {
      log_error("no keeper: {} (a crash of this daemon will take the apps with it)", link.error().message());
      return;
    }
    keeper_ = std::move(link.value());
    auto handed = keeper_->take_handed();
    const char* restart = std::getenv("DROVE_KEEPER_RESTART");
    ::unsetenv("DROVE_KEEPER_RESTART");  // not for the apps
    if (restart != nullptr && std::string(restart) == "1") {
      auto state = read_state_file(keeper_->state_path());
      std::string summary;
      if (state.ok()) {
        // Our own file, but a file: a malformed one is an error to report, not a crash loop.
        try {
          summary = supervisor_.adopt(state.value(), handed);
        } catch (const std::exception& error) {
          state = SysError{EINVAL, keeper_->state_path() + ": " + error.what()};
        }
      }
      if (state.ok()) {
        log_info("taking over from the previous daemon (pid {}, drove {}): {}", state->value("daemon_pid", 0),
                 state->value("drove_version", std::string("?")), summary);
      } else {
        log_error(
            "cannot take the apps over: {}; their processes are stopped (`drove resurrect` starts the saved list)",
            state.error().message());
        (void)supervisor_.adopt(nlohmann::json::object(), handed);
      }
    } else {
      ::unlink(keeper_->state_path().c_str());  // a previous life's (after a reboot): not ours
    }
    keeper_->start([this](pid_t pid, int status) { reaper_.deliver(pid, status); },
                   [this] { supervisor_.watch_adopted_runs_without_keeper(); });
    sync_keeper();
    // Every RPC that changes something and every event syncs at once (schedule_sync); this
    // catches the rest. Each sync describes every app (1,000 instances: a 450 KB document and
    // 3,000 fstat calls, 4 % of a core when it ran each second), and writes only what changed.
    keeper_sync_.start(
        uv_default_loop(), kPeriodicSyncMs, kPeriodicSyncMs, [this] { sync_keeper(); }, /*keeps_loop_alive=*/false);
  }

  void schedule_sync() {
    if (!keeper_ || sync_pending_ || handing_over_) return;
    sync_pending_ = true;
    keeper_soon_.start(
        uv_default_loop(), 0, 0, [this] { sync_keeper(); }, /*keeps_loop_alive=*/false);
  }

  void sync_keeper() {
    sync_pending_ = false;
    if (keeper_) keeper_->sync(supervisor_.kept_state());
  }

  nlohmann::json keeper_info() const {
    if (!keeper_) return nullptr;
    return {{"pid", keeper_->connected() ? ::getppid() : 0},
            {"connected", keeper_->connected()},
            {"held", keeper_->held()},
            {"state_version", supervisor::Supervisor::kStateVersion}};
  }

  // `drove update`: the binary now on disk takes everything over. It must read our state (it
  // is asked first: `drove daemon --check-state`), or nothing happens and we keep serving.
  CommandStatus hand_over() {
    if (!keeper_ || !keeper_->connected())
      return CommandError{ErrorCode::invalid,
                          "this daemon runs without a keeper (drove daemon in the foreground, or --no-keeper): "
                          "`drove update` needs one; use `drove save`, `drove kill`, `drove resurrect`"};
    sync_keeper();
    const std::string exe = on_disk_executable();
    auto checked = process::run_capture({exe, "daemon", "--check-state", keeper_->state_path()}, {}, "/", "", 10000);
    if (!checked.ok()) return CommandError{ErrorCode::io, "cannot run " + exe + ": " + checked.error().message()};
    if (checked->exit_code != 0) {
      std::string why = checked->err.empty() ? checked->out : checked->err;
      while (!why.empty() && why.back() == '\n') why.pop_back();
      return CommandError{ErrorCode::invalid, "the drove on disk cannot take over from this daemon: " + why};
    }
    // Out once the reply is written: no destructor runs (they would close sockets and remove
    // unix socket paths the apps keep using); the keeper starts the new binary at once.
    handing_over_ = true;
    // Every line already read reaches its file first; the rest waits in the pipes (the keeper
    // holds them) for the next daemon.
    supervisor_.logs().set_subscriber_pressure(true);
    supervisor_.logs().when_all_written(
        [this] { hand_over_timer_.start(uv_default_loop(), 0, 0, [this] { finish_hand_over(); }); });
    return Ok{};
  }

  void finish_hand_over() {
    // Connections this daemon accepted reach a worker first; the sockets' backlog keeps the
    // rest for the next daemon.
    const std::size_t held = supervisor_.freeze_accepting();
    if ((held > 0 || server_.writes_pending()) && ++hand_over_waits_ < 1000) {
      hand_over_timer_.start(uv_default_loop(), 5, 0, [this] { finish_hand_over(); });
      return;
    }
    sync_keeper();
    log_info("handing over to {} (pid {} ends, every app keeps running)", on_disk_executable(), ::getpid());
    ::_exit(keeper::kHandOverStatus);
  }

  // DROVE_SAMPLE_INTERVAL_MS (100 to 60,000; default 1,000) and DROVE_HISTORY_MINUTES (0 to 60;
  // default 5), read when the daemon starts; a bad value is said in the log and the default used.
  static std::int64_t environment_number(const char* name, std::int64_t low, std::int64_t high, std::int64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < low || value > high) {
      log_warn("{}={:?} is not a whole number from {} to {}: {} is used", name, text, low, high, fallback);
      return fallback;
    }
    return value;
  }
  static std::int64_t sample_interval_from_environment() {
    static const std::int64_t interval = environment_number("DROVE_SAMPLE_INTERVAL_MS", 100, 60000, 1000);
    return interval;
  }
  // At most kMaxHistorySamples an instance (28 KiB; a `list` with history for 1,000 instances
  // stays tens of MB), whatever the two settings multiply to: 60 minutes at 100 ms would be 36,000.
  static constexpr std::int64_t kMaxHistorySamples = 3600;
  static std::size_t history_samples_from_environment() {
    const std::int64_t minutes = environment_number("DROVE_HISTORY_MINUTES", 0, 60, 5);
    const std::int64_t samples = minutes * 60000 / sample_interval_from_environment();
    if (samples > kMaxHistorySamples)
      log_warn("DROVE_HISTORY_MINUTES={} at {} ms a sample is {} samples an instance: the last {} are kept", minutes,
               sample_interval_from_environment(), samples, kMaxHistorySamples);
    return static_cast<std::size_t>(std::min(samples, kMaxHistorySamples));
  }

  // share/drove/node-metrics.js beside the binary: <build>/share/... in a build tree,
  // <prefix>/share/... when installed in <prefix>/bin. Empty when neither is readable.
  static std::string find_node_metrics_preload() {
    const std::filesystem::path dir = std::filesystem::path(on_disk_executable()).parent_path();
    for (const auto& candidate : {dir / "share/drove/node-metrics.js", dir / "../share/drove/node-metrics.js"}) {
      if (::access(candidate.c_str(), R_OK) == 0) return std::filesystem::weakly_canonical(candidate).string();
    }
    return "";
  }

  static std::string on_disk_executable() {
    char buffer[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) return "/proc/self/exe";
    std::string path(buffer, static_cast<std::size_t>(n));
    const std::string deleted = " (deleted)";
    if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
      path.resize(path.size() - deleted.size());
    return path;
  }

  void shutdown_now() {
    if (keeper_) {
      keeper_->bye();
      keeper_sync_.stop();
      keeper_soon_.stop();
      ::unlink(keeper_->state_path().c_str());
    }
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
  std::unique_ptr<KeeperLink> keeper_;  // under a keeper: apps outlive this process
  static constexpr std::uint64_t kPeriodicSyncMs = 10000;
  LoopTimer keeper_sync_{"keeper sync"};
  LoopTimer keeper_soon_{"keeper sync"};
  LoopTimer hand_over_timer_{"hand over"};
  bool sync_pending_ = false;
  bool handing_over_ = false;
  int hand_over_waits_ = 0;
  int exit_code_ = 0;
};

}  // namespace

namespace {

bool keeper_wanted(const DaemonOptions& options) {
  if (options.keeper_fd >= 0 || options.runtime || options.no_keeper) return false;
  if (const char* env = std::getenv("DROVE_KEEPER");
      env != nullptr && (std::string(env) == "off" || std::string(env) == "0"))
    return false;
  return options.background || options.keeper;
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  if (!options.check_state.empty()) {
    auto state = read_state_file(options.check_state);
    if (!state.ok()) {
      std::fprintf(stderr, "%s\n", state.error().message().c_str());
      return 1;
    }
    return 0;
  }
  if (keeper_wanted(options)) {
    char buffer[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    keeper::Options keeper{.exe = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "/proc/self/exe",
                           .argv = {"drove", "daemon", "--keeper-fd", std::to_string(keeper::kDaemonFd)},
                           .lock_path = options.home.root + "/keeper.lock"};
    if (auto s = state::prepare_home(options.home); !s.ok()) {
      log_error("{}", s.error().message());
      return 1;
    }
    keeper.argv[0] = keeper.exe;
    if (options.background) keeper.argv.emplace_back("--background");
    if (options.resurrect) keeper.argv.emplace_back("--resurrect");
    if (options.background && ::chdir("/") != 0) log_warn("chdir /: {}", std::strerror(errno));
    ::prctl(PR_SET_NAME, "drove-keeper");
    return keeper::run(keeper);
  }
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
