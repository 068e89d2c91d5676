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
#include <vector>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "base/loop_meter.hpp"
#include "base/unique_fd.hpp"
#include "base/unix_socket.hpp"
#include "base/uv_handle.hpp"
#include "daemon/event_json.hpp"
#include "daemon/methods.hpp"
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
        supervisor_(uv_default_loop(), reaper_, {options.home.root, options.home.logs_dir(), options.home.pids_dir()}),
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
    });
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
    start_service_notifications();
    if (options_.resurrect) {
      resurrect_saved_list();
    } else {
      notify_ready("");
    }
    uv_run(loop, UV_RUN_DEFAULT);
    log_info("drove daemon exits");
    return 0;
  }

 private:
  void on_signal(int signum) {
    if (signum == SIGHUP || signum == SIGUSR2) {
      // External logrotate moved the files: reopen them.
      if (auto s = supervisor_.logs().reopen_all(); !s.ok()) log_warn("reopening log files: {}", s.error().message());
      return;
    }
    if (stopping_) return;
    stopping_ = true;
    notify("STOPPING=1\nSTATUS=stopping every app");
    log_info("{} received: stopping every app", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    supervisor_.stop_all([this] { shutdown_now(); });
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
    watchdog_ = UvHandle<uv_timer_t>::make();
    uv_timer_init(uv_default_loop(), watchdog_.get());
    watchdog_->data = this;
    uv_timer_start(
        watchdog_.get(),
        [](uv_timer_t* t) {
          loop_barrier("watchdog", [t] {
            if (auto* self = owner_of<Daemon>(t)) self->notify("WATCHDOG=1");
          });
        },
        0, static_cast<std::uint64_t>(*period));
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
    watchdog_ = {};
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
  UvHandle<uv_timer_t> watchdog_;
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
