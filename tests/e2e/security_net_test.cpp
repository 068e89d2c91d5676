// The privilege boundary on the network side (issue #11, docs/security.md): what the daemon does
// for an app run as another user (binds, socket files, ports, the notify socket) it does with
// that user's rights, and an app cannot make the daemon hold unbounded listeners. Every test runs
// a real app as the real user `nobody` against a root daemon, so they need root and skip without.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/unique_fd.hpp"
#include "harness.hpp"

extern char** environ;

namespace drove::e2e {
namespace {

constexpr uid_t kNobodyUid = 65534;
constexpr gid_t kNobodyGid = 65534;

// A directory under /tmp (the test home is 0700: `nobody` could not reach into it), removed
// with everything in it at the end.
class PublicDir {
 public:
  PublicDir() {
    char tmpl[] = "/tmp/drove-secnet-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    path_ = dir ? dir : "/tmp/drove-secnet-failed";
    ::chmod(path_.c_str(), 0755);
  }
  ~PublicDir() {
    const std::string cmd = "rm -rf '" + path_ + "'";
    const int ignored = std::system(cmd.c_str());
    (void)ignored;
  }
  PublicDir(const PublicDir&) = delete;
  PublicDir& operator=(const PublicDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A process this test starts in the background (a swapper as `nobody`, a CLI call that blocks)
// and kills by pid when done, if it still runs.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {}) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_storage = extra_env;
    for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
    std::vector<char*> env;
    for (auto& e : env_storage) env.push_back(e.data());
    env.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), env.data()) != 0) pid_ = -1;
  }
  ~Background() {
    if (pid_ <= 0) return;
    if (!exited_) ::kill(pid_, SIGKILL);
    wait_exit();
  }
  // Reaps it; its exit code (-1 if killed by a signal).
  int wait_exit() {
    if (!exited_) {
      ::waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

// The attacker of the bind→chmod race, in a child of the test running as nobody: inotify
// wakes it the moment a socket file s<i>.sock is created in `dir`, and it replaces the file
// (atomically, by rename) with a symlink to `victim`. A polling script is too slow to hit the
// microseconds between drove 0.1.0's bind() and chmod(); this hits it within a few thousand
// rounds. Killed by pid when the test ends.
class Swapper {
 public:
  Swapper(const std::string& dir, const std::string& victim) {
    const int watch = ::inotify_init1(IN_CLOEXEC);
    if (watch < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      // Child: system calls only, never returns.
      if (::setgroups(0, nullptr) != 0 || ::setgid(kNobodyGid) != 0 || ::setuid(kNobodyUid) != 0) ::_exit(1);
      if (::inotify_add_watch(watch, dir.c_str(), IN_CREATE) < 0 || ::chdir(dir.c_str()) != 0) ::_exit(1);
      alignas(inotify_event) char events[8192];
      for (;;) {
        const ssize_t n = ::read(watch, events, sizeof events);
        for (ssize_t at = 0; at < n;) {
          const auto* e = reinterpret_cast<const inotify_event*>(events + at);
          if (e->len > 0 && e->name[0] == 's') {
            if (::symlink(victim.c_str(), ".swap") == 0) ::rename(".swap", e->name);
          }
          at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        }
      }
    }
    ::close(watch);
  }
  ~Swapper() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Swapper(const Swapper&) = delete;
  Swapper& operator=(const Swapper&) = delete;
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  std::vector<std::string> full = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

std::size_t fd_count(pid_t pid) {
  std::size_t n = 0;
  if (DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
  }
  return n;
}

std::string out_log(const DroveHome& home, const std::string& name) {
  const auto procs = home.processes(name);
  if (procs.empty()) return "";
  return read_file(procs.at(0)["pm2_env"].value("pm_out_log_path", ""));
}

// The last JSON line of the app's output whose "phase" is `phase` (or any JSON line if "").
std::optional<nlohmann::json> json_line(const std::string& log, const std::string& phase = "") {
  std::istringstream lines(log);
  std::optional<nlohmann::json> found;
  for (std::string line; std::getline(lines, line);) {
    const auto brace = line.find('{');
    if (brace == std::string::npos) continue;
    auto j = nlohmann::json::parse(line.substr(brace), nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (phase.empty() || j.value("phase", "") == phase) found = j;
  }
  return found;
}

std::string app_env(pid_t pid, const std::string& name) {
  const std::string environ_text = read_file("/proc/" + std::to_string(pid) + "/environ");
  std::size_t start = 0;
  while (start < environ_text.size()) {
    std::size_t end = environ_text.find('\0', start);
    if (end == std::string::npos) end = environ_text.size();
    const std::string entry = environ_text.substr(start, end - start);
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
    start = end + 1;
  }
  return "";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A port below 1024 free on the wildcard address (Node's listen(port) binds "::" dual-stack).
std::optional<int> free_privileged_port() {
  for (int port = 1023; port >= 900; --port) {
    UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int off = 0, on = 1;
    ::setsockopt(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    ::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return port;
  }
  return std::nullopt;
}

#define SKIP_UNLESS_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: runs an app as the real user nobody under a root daemon"

// The race: a `nobody` app listens on a unix path with writableAll while a `nobody`
// swapper replaces each new socket with a symlink to a root-only file. drove 0.1.0 chmod()ed
// the path as root after bind(), so the victim became 0622; now the socket is born with its mode
// in a helper running as nobody, and nothing is ever chmod()ed by path.
TEST(SecurityNet, UnixBindChmodRaceLeavesRootFileUntouched) {
  SKIP_UNLESS_ROOT();
  DroveHome home;
  PublicDir base;
  const std::string victim = base.path() + "/victim";
  write_file(victim, "root only\n");
  ASSERT_EQ(::chmod(victim.c_str(), 0600), 0);
  const std::string sockets = base.path() + "/sockets";
  ASSERT_EQ(::mkdir(sockets.c_str(), 0755), 0);
  ASSERT_EQ(::chown(sockets.c_str(), kNobodyUid, kNobodyGid), 0);

  Swapper swapper(sockets, victim);
  ASSERT_GT(swapper.pid(), 0);
  constexpr int kRounds = 3000;
  auto r = home.drove({"start", fixture("security/unix_race_app.js"), "--name", "race", "--exec-mode", "cluster", "-i",
                       "1", "--uid", "nobody", "--cwd", "/", "--", sockets, std::to_string(kRounds), "60"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<nlohmann::json> summary;
  ASSERT_TRUE(
      wait_until([&] { return (summary = json_line(out_log(home, "race"))).has_value(); }, std::chrono::seconds(90)))
      << out_log(home, "race");
  std::cout << "[ race ] " << summary->dump() << "\n";
  EXPECT_GE(summary->value("rounds", 0), 200) << "too few rounds to mean anything";
  EXPECT_EQ(summary->value("errors", -1), 0) << summary->dump();

  struct stat st {};
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the victim's mode changed";
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(read_file(victim), "root only\n");
}

// A socket file the daemon binds for a `nobody` app belongs to nobody, with the mode asked
// for from its first instant (no chmod afterwards).
TEST(SecurityNet, UnixSocketIsOwnedByTheAppUserWithItsMode) {
  SKIP_UNLESS_ROOT();
  DroveHome home;
  PublicDir base;
  const std::string sockets = base.path() + "/sockets";
  ASSERT_EQ(::mkdir(sockets.c_str(), 0755), 0);
  ASSERT_EQ(::chown(sockets.c_str(), kNobodyUid, kNobodyGid), 0);
  auto r = home.drove({"start", fixture("security/unix_race_app.js"), "--name", "once", "--exec-mode", "cluster", "-i",
                       "1", "--uid", "nobody", "--cwd", "/", "--", sockets, "1", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return json_line(out_log(home, "once")).has_value(); }, std::chrono::seconds(20)));
  EXPECT_EQ(json_line(out_log(home, "once"))->value("errors", -1), 0);

  // A root-owned directory: nobody may not create a socket there, so neither may the daemon for it.
  const std::string root_only = base.path() + "/root-only";
  ASSERT_EQ(::mkdir(root_only.c_str(), 0755), 0);
  r = home.drove({"start", fixture("security/unix_race_app.js"), "--name", "denied", "--exec-mode", "cluster", "-i",
                  "1", "--uid", "nobody", "--cwd", "/", "--", root_only, "1", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return json_line(out_log(home, "denied")).has_value(); }, std::chrono::seconds(20)));
  const auto denied = *json_line(out_log(home, "denied"));
  EXPECT_EQ(denied.value("errors", 0), 1) << denied.dump();
  EXPECT_EQ(denied.value("lastError", ""), "EACCES") << denied.dump();
  struct stat st {};
  EXPECT_NE(::lstat((root_only + "/s0.sock").c_str(), &st), 0) << "the daemon created a socket where nobody cannot";
}

// 5,000 listen() calls from one app: 64 (the default max_listeners) are served, the rest get
// EMFILE through Node's 'error' event, the daemon logs the cap once and its fd table stays
// bounded; closed servers are released (the app can listen again) and deletion frees the rest.
TEST(SecurityNet, ListenFloodEndsAtTheCapWithBoundedDaemonFds) {
  SKIP_UNLESS_ROOT();
  DroveHome home;
  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);
  const pid_t daemon = home.daemon_pid().value_or(0);
  ASSERT_GT(daemon, 0);
  const std::size_t baseline = fd_count(daemon);

  auto r = home.drove({"start", fixture("security/listen_flood.js"), "--name", "flood", "--exec-mode", "cluster", "-i",
                       "1", "--uid", "nobody", "--cwd", "/", "--", "5000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::optional<nlohmann::json> flood;
  std::size_t at_cap = 0;  // the most the daemon held while the app flooded it
  ASSERT_TRUE(wait_until(
      [&] {
        at_cap = std::max(at_cap, fd_count(daemon));
        return (flood = json_line(out_log(home, "flood"), "flood")).has_value();
      },
      std::chrono::seconds(60)))
      << out_log(home, "flood");
  std::cout << "[ flood ] " << flood->dump() << " daemon fds: baseline " << baseline << ", at the cap " << at_cap
            << "\n";
  EXPECT_EQ(flood->value("listening", 0), 64);
  EXPECT_EQ(flood->value("emfile", 0), 5000 - 64);
  EXPECT_EQ(flood->value("other", "?"), "");
  EXPECT_LE(at_cap, baseline + 64 + 32);
  const std::string daemon_log = read_file(home.path() + "/drove.log");
  EXPECT_EQ(count_of(daemon_log, "app 'flood' reached its listener cap"), 1u) << daemon_log;

  // Closed by the app: the daemon closes them too, and the app may listen again.
  std::optional<nlohmann::json> relisten;
  ASSERT_TRUE(wait_until([&] { return (relisten = json_line(out_log(home, "flood"), "relisten")).has_value(); },
                         std::chrono::seconds(30)));
  EXPECT_EQ(relisten->value("ok", 0), 10);
  EXPECT_TRUE(wait_until([&] { return fd_count(daemon) <= baseline + 10 + 32; }, std::chrono::seconds(10)))
      << fd_count(daemon) << " fds after the app closed its servers (baseline " << baseline << ")";

  ASSERT_EQ(home.drove({"delete", "flood"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return fd_count(daemon) <= baseline + 8; }, std::chrono::seconds(10)))
      << fd_count(daemon) << " fds after delete (baseline " << baseline << ")";
}

// A `nobody` app asking for a port below 1024 gets what nobody would get (EACCES), unless its
// config says allow_privileged_ports.
TEST(SecurityNet, PrivilegedPortOnlyWithAllowPrivilegedPorts) {
  SKIP_UNLESS_ROOT();
  if (read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start").find("1024") != 0) {
    GTEST_SKIP() << "net.ipv4.ip_unprivileged_port_start is not 1024 here: every user may bind low ports";
  }
  const auto port = free_privileged_port();
  if (!port) GTEST_SKIP() << "no free port in 900-1023";
  DroveHome home;
  // (start may report that the instance never listened: that is the point)
  auto r = home.drove({"start", fixture("security/listen_port.js"), "--name", "low", "--exec-mode", "cluster", "-i",
                       "1", "--uid", "nobody", "--cwd", "/", "--listen-timeout", "500", "--", std::to_string(*port)});
  ASSERT_TRUE(
      wait_until([&] { return out_log(home, "low").find("error ") != std::string::npos; }, std::chrono::seconds(20)))
      << out_log(home, "low");
  EXPECT_NE(out_log(home, "low").find("error EACCES"), std::string::npos) << out_log(home, "low");
  bool refused = false;
  EXPECT_EQ(http_get(*port, "/", &refused), "");
  EXPECT_TRUE(refused);
  ASSERT_EQ(home.drove({"delete", "low"}).exit_code, 0);

  r = home.drove({"start", fixture("security/listen_port.js"), "--name", "allowed", "--exec-mode", "cluster", "-i", "1",
                  "--uid", "nobody", "--cwd", "/", "--allow-privileged-ports", "--", std::to_string(*port)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return out_log(home, "allowed").find("listening ") != std::string::npos; },
                         std::chrono::seconds(20)))
      << out_log(home, "allowed");
  EXPECT_NE(http_get(*port).find("ok"), std::string::npos);
}

// sd_notify for an app run as nobody: NOTIFY_SOCKET is reachable (abstract namespace), READY=1
// from the app (here from its python3 child) makes it ready, a reload succeeds; the same
// datagram from another local process is ignored.
TEST(SecurityNet, NobodyWaitReadyAppBecomesReadyOnlyByItsOwnNotify) {
  SKIP_UNLESS_ROOT();
  DroveHome home;
  PublicDir base;
  const std::string go = base.path() + "/go";
  // `start` waits for readiness: in the background, while the test plays the outsider.
  // Cluster mode with a daemon-held port (socket activation): `reload` is then a real rolling
  // reload, which waits for the replacement's READY=1 before it stops the old process.
  Background start({DROVE_BIN, "start", fixture("security/notify_ready.sh"), "--name", "notify", "--uid", "nobody",
                    "--cwd", "/", "--exec-mode", "cluster", "--port", std::to_string(free_tcp_port()), "--wait-ready",
                    "--listen-timeout", "60000", "--", go},
                   {"DROVE_HOME=" + home.path()});
  pid_t pid = 0;
  ASSERT_TRUE(wait_until([&] {
    const auto procs = home.processes("notify");
    if (procs.empty()) return false;
    pid = procs[0].value("pid", 0);
    return pid > 0 && !app_env(pid, "NOTIFY_SOCKET").empty();
  }));
  const std::string address = app_env(pid, "NOTIFY_SOCKET");
  EXPECT_EQ(address.front(), '@') << address;

  // Another local process (same user even) says READY=1 for it: ignored.
  const auto outsider = run_program(as_nobody({"/usr/bin/python3", fixture("security/notify_outsider.py"), address}));
  ASSERT_EQ(outsider.exit_code, 0) << outsider.err;
  ASSERT_EQ(outsider.out, "sent\n");
  // Two round trips: the daemon has drained the datagram queued before the first one.
  (void)home.jlist();
  EXPECT_EQ(home.processes("notify").at(0)["pm2_env"].value("status", ""), "launching");

  write_file(go, "");
  const auto online = home.wait_online("notify", 1, std::chrono::seconds(20));
  ASSERT_EQ(online.size(), 1u);
  EXPECT_EQ(online[0], pid);
  EXPECT_EQ(start.wait_exit(), 0);

  auto r = home.drove({"reload", "notify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto after = home.wait_online("notify", 1, std::chrono::seconds(20));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], pid) << "the reload did not replace the process";
}

}  // namespace
}  // namespace drove::e2e
