// `drove runtime` / `drove-runtime`, the container entrypoint: the apps' lines on its stdout in
// order (whole, in the chosen style, nothing lost when the reader is slow), SIGTERM stops every
// app gracefully and exits 0, the exit status says what happened to the apps, the control
// socket still answers (`docker exec … drove list`), and as PID 1 of its own PID namespace it
// reaps the orphans of its apps.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/unique_fd.hpp"
#include "harness.hpp"
#include "process/spawn.hpp"

namespace drove::e2e {
namespace {

std::string runtime_bin() {
  const std::string drove = DROVE_BIN;
  return drove.substr(0, drove.rfind('/')) + "/drove-runtime";
}

// Writes its argv[2] numbered lines ("line <n>") as fast as stdout takes them, says "all
// written", and on SIGINT (drove's stop signal) says "graceful stop" and exits 0.
const char* kLinesApp = R"(const total = Number(process.argv[2]);
let n = 0;
function pump() {
  while (n < total) {
    const chunk = [];
    for (let i = 0; i < 500 && n < total; i++) chunk.push('line ' + ++n);
    if (!process.stdout.write(chunk.join('\n') + '\n')) return process.stdout.once('drain', pump);
  }
  console.error('all written');
}
pump();
process.on('SIGINT', () => { console.log('graceful stop'); process.exit(0); });
setInterval(() => {}, 1 << 30);
)";

// One `drove-runtime` process with its stdout and stderr in files (or stdout on `stdout_fd`).
class Runtime {
 public:
  Runtime(const DroveHome& home, std::vector<std::string> args, int stdout_fd = -1,
          std::vector<std::string> launcher = {})
      : out_path_(home.scratch() + "/runtime.out"), err_path_(home.scratch() + "/runtime.err") {
    UniqueFd out(::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd err(::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    std::vector<std::string> argv = std::move(launcher);
    argv.push_back(runtime_bin());
    argv.insert(argv.end(), args.begin(), args.end());
    const std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "DROVE_HOME=" + home.path(),
                                          "HOME=" + home.scratch()};
    auto pid = process::spawn({.file = argv[0],
                               .argv = argv,
                               .env = env,
                               .cwd = home.scratch(),
                               .fds = {{1, stdout_fd >= 0 ? stdout_fd : out.get()}, {2, err.get()}}});
    EXPECT_TRUE(pid.ok()) << pid.error().message();
    if (pid.ok()) pid_ = *pid;
  }
  ~Runtime() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string out() const { return read_file(out_path_); }
  [[nodiscard]] std::string err() const { return read_file(err_path_); }

  // The exit status, or -1 if it did not exit in time.
  int wait_exit(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout)) return -1;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Checks that `lines` holds "<prefix>line 1" .. "<prefix>line <n>" in order (other lines may
// come between them); returns the first mismatch as text, "" when they are all there.
std::string check_numbered(const std::vector<std::string>& lines, const std::string& prefix, int n) {
  int next = 1;
  for (const auto& line : lines) {
    if (line.rfind(prefix + "line ", 0) != 0) continue;
    const std::string want = prefix + "line " + std::to_string(next);
    if (line != want) return fmt::format("expected '{}', got '{}'", want, line);
    ++next;
  }
  return next == n + 1 ? "" : "only " + std::to_string(next - 1) + " of " + std::to_string(n) + " lines";
}

TEST(Runtime, LinesReachStdoutInOrderTheSocketAnswersAndSigtermStopsGracefully) {
  DroveHome home;
  write_file(home.scratch() + "/lines.js", kLinesApp);
  const int port = free_tcp_port();
  const nlohmann::json eco = {{"apps",
                               {{{"name", "lines"}, {"script", "lines.js"}, {"args", "20000"}},
                                {{"name", "web"},
                                 {"script", fixture("apps/pid_server.js")},
                                 {"exec_mode", "cluster"},
                                 {"instances", 2},
                                 {"env", {{"PORT", std::to_string(port)}}}}}}};
  write_file(home.scratch() + "/ecosystem.config.json", eco.dump());

  Runtime runtime(home, {"--formatted", "ecosystem.config.json"});
  // `docker exec <container> drove list`: the runtime serves the control socket.
  const auto web = home.wait_online("web", 2);
  const auto lines = home.wait_online("lines", 1);
  EXPECT_NE(http_get(port).find("pid "), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return runtime.err().find("all written") != std::string::npos; })) << runtime.err();
  ASSERT_TRUE(wait_until([&] { return check_numbered(lines_of(runtime.out()), "0|lines | ", 20000).empty(); }))
      << check_numbered(lines_of(runtime.out()), "0|lines | ", 20000);
  // Without a log file of their own the apps write none: stdout is the log.
  EXPECT_FALSE(std::ifstream(home.path() + "/logs/lines-out.log").good());

  ASSERT_EQ(::kill(runtime.pid(), SIGTERM), 0);
  EXPECT_EQ(runtime.wait_exit(), 0) << runtime.err();
  EXPECT_NE(runtime.out().find("0|lines | graceful stop\n"), std::string::npos) << runtime.err();
  for (pid_t pid : web) EXPECT_FALSE(pid_alive(pid));
  EXPECT_FALSE(pid_alive(lines.at(0)));
  // The daemon's own lines go to stderr, never between the apps' lines.
  for (const auto& line : lines_of(runtime.out())) EXPECT_EQ(line.find(" INFO "), std::string::npos) << line;
}

TEST(Runtime, ExitStatusSaysWhatHappenedToTheApps) {
  DroveHome home;
  write_file(home.scratch() + "/crash.sh", "#!/bin/sh\necho crashing\nexit 3\n", true);
  write_file(home.scratch() + "/once.sh", "#!/bin/sh\necho done once\n", true);
  {
    // Restarts exhausted: the container ends, non-zero.
    Runtime runtime(home, {"crash.sh", "--max-restarts", "2", "--restart-delay", "10"});
    EXPECT_EQ(runtime.wait_exit(), 2) << runtime.err();
    EXPECT_NE(runtime.err().find("crash (id 0) errored: its restarts are exhausted"), std::string::npos)
        << runtime.err();
    EXPECT_NE(runtime.out().find("crashing\n"), std::string::npos);
  }
  {
    // Every app ended on its own with 0.
    Runtime runtime(home, {"start", "once.sh", "--no-autorestart", "--json"});
    EXPECT_EQ(runtime.wait_exit(), 0) << runtime.err();
    const auto out = lines_of(runtime.out());
    ASSERT_EQ(out.size(), 1u) << runtime.out();
    const auto line = nlohmann::json::parse(out[0]);
    EXPECT_EQ(line.value("message", ""), "done once\n");
    EXPECT_EQ(line.value("app_name", ""), "once");
    EXPECT_EQ(line.value("type", ""), "out");
  }
  {
    // A script that does not exist: nothing starts, status 1, the reason in one line.
    Runtime runtime(home, {"missing.js"});
    EXPECT_EQ(runtime.wait_exit(), 1);
    EXPECT_NE(runtime.err().find("missing.js: script not found"), std::string::npos) << runtime.err();
  }
  {
    // --no-auto-exit: an errored app leaves the runtime serving; SIGTERM ends it with 0.
    Runtime runtime(home, {"crash.sh", "--max-restarts", "1", "--restart-delay", "10", "--no-auto-exit"});
    ASSERT_TRUE(wait_until([&] {
      auto procs = home.processes("crash");
      return !procs.empty() && procs[0]["pm2_env"].value("status", "") == "errored";
    }));
    EXPECT_EQ(home.drove({"ping"}).exit_code, 0);
    ASSERT_EQ(::kill(runtime.pid(), SIGTERM), 0);
    EXPECT_EQ(runtime.wait_exit(), 0) << runtime.err();
  }
  // A second runtime on a home whose daemon runs is refused.
  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);  // starts a daemon
  Runtime second(home, {"once.sh"});
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_NE(second.err().find("a drove daemon is already running"), std::string::npos) << second.err();
}

TEST(Runtime, SlowStdoutReaderPausesTheAppAndLosesNothing) {
  DroveHome home;
  write_file(home.scratch() + "/lines.js", kLinesApp);
  constexpr int kLines = 600000;  // ~7 MB: beyond the pipes and the forwarder's 4 MiB queue
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  Runtime runtime(home, {"lines.js", "--no-autorestart", "--", std::to_string(kLines)}, write_end.get());
  write_end.reset();
  const pid_t app = home.wait_online("lines", 1).at(0);
  // Nobody reads: the forwarder's queue passes its mark and the daemon pauses every app's
  // pipe (ping says so); the app's stdout pipe then fills and stays full (the app waits for it
  // to drain), its lines not all written.
  ASSERT_TRUE(wait_until([&] {
    auto r = home.drove({"ping"});
    return r.exit_code == 0 && nlohmann::json::parse(r.out)["log_subscribers"].value("paused", false);
  })) << "the daemon never paused the apps' output";
  UniqueFd app_stdout(::open(("/proc/" + std::to_string(app) + "/fd/1").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(app_stdout) << std::strerror(errno);
  const int capacity = ::fcntl(app_stdout.get(), F_GETPIPE_SZ);
  int queued = 0;
  auto pipe_full = [&] {  // within a page: the app writes chunks that do not fill pages exactly
    return ::ioctl(app_stdout.get(), FIONREAD, &queued) == 0 && queued > capacity - 4096;
  };
  ASSERT_TRUE(wait_until(pipe_full)) << "the app's pipe holds " << queued << " of " << capacity << " bytes";
  // Still full after the daemon's loop has turned (it answered): it is not reading.
  EXPECT_EQ(home.drove({"ping"}).exit_code, 0);
  EXPECT_TRUE(pipe_full()) << "the daemon kept reading: the pipe holds " << queued << " bytes";
  app_stdout.reset();
  EXPECT_EQ(runtime.err().find("all written"), std::string::npos);
  EXPECT_TRUE(pid_alive(app));

  std::string received;
  char buffer[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
    if (received.find("line " + std::to_string(kLines) + "\n") != std::string::npos) break;
  }
  EXPECT_EQ(check_numbered(lines_of(received), "", kLines), "");
  ASSERT_TRUE(wait_until([&] { return runtime.err().find("all written") != std::string::npos; }));
  ASSERT_EQ(::kill(runtime.pid(), SIGTERM), 0);
  // Keep reading until the runtime has exited (its last lines).
  std::thread drain([&] {
    while (::read(read_end.get(), buffer, sizeof buffer) > 0) {
    }
  });
  EXPECT_EQ(runtime.wait_exit(), 0) << runtime.err();
  drain.join();
}

// The number of zombie children of `pid` (host pid namespace), and how many children it has.
std::pair<int, int> children_of(pid_t pid) {
  int zombies = 0;
  int all = 0;
  std::istringstream ids(read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  for (pid_t child = 0; ids >> child;) {
    ++all;
    const std::string stat = read_file("/proc/" + std::to_string(child) + "/stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') ++zombies;
  }
  return {zombies, all};
}

TEST(Runtime, AsPid1OfItsOwnNamespaceItReapsOrphansAndStopsOnSigterm) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (unshare --pid): run the tests as root to cover PID 1";
  if (::access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "unshare not installed (Debian package util-linux)";
  DroveHome home;
  // 100 orphans: each subshell starts a short sleep in the background and exits at once, so
  // the sleep is re-parented to PID 1, the runtime; then the app serves on until stopped.
  write_file(home.scratch() + "/orphans.sh",
             "#!/bin/bash\nfor i in $(seq 1 100); do (sleep 0.2 &); done\necho 'spawned 100'\n"
             "trap 'echo graceful stop; exit 0' INT\nwhile true; do sleep 0.1; done\n",
             true);
  Runtime runtime(home, {"orphans.sh"}, -1, {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"});
  // The runtime is unshare's child, PID 1 inside.
  pid_t pid1 = 0;
  ASSERT_TRUE(wait_until([&] {
    std::istringstream ids(
        read_file("/proc/" + std::to_string(runtime.pid()) + "/task/" + std::to_string(runtime.pid()) + "/children"));
    return static_cast<bool>(ids >> pid1);
  }));
  const std::string status = read_file("/proc/" + std::to_string(pid1) + "/status");
  ASSERT_NE(status.find("NSpid:\t" + std::to_string(pid1) + "\t1\n"), std::string::npos) << status;
  ASSERT_TRUE(
      wait_until([&] { return runtime.out().find("spawned 100") != std::string::npos; }, std::chrono::seconds(20)))
      << runtime.err();
  // Every orphan exits after 0.2 s and is reaped: left are the app and whatever it runs now.
  ASSERT_TRUE(wait_until([&] {
    auto [zombies, all] = children_of(pid1);
    return zombies == 0 && all <= 2;
  })) << children_of(pid1).first
      << " zombie(s), " << children_of(pid1).second << " children";

  ASSERT_EQ(::kill(pid1, SIGTERM), 0);
  EXPECT_EQ(runtime.wait_exit(), 0) << runtime.err();  // unshare exits with PID 1's status
  EXPECT_NE(runtime.out().find("graceful stop"), std::string::npos) << runtime.out() << runtime.err();
  EXPECT_FALSE(pid_alive(pid1));
}

}  // namespace
}  // namespace drove::e2e
