// `drove startup`: the unit it writes is one systemd accepts (systemd-analyze verify), and the
// daemon run the way the unit runs it speaks sd_notify as promised: READY=1 only once the saved
// list is back online, STATUS=, WATCHDOG=1 when WatchdogSec= is set, STOPPING=1 on SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.hpp"
#include "cli/client.hpp"
#include "cli/startup.hpp"
#include "harness.hpp"
#include "process/spawn.hpp"

namespace drove::e2e {
namespace {

// The unit printed by --dry-run: the lines after "# <path>" up to the "[drove]" lines.
std::string unit_of(const std::string& out) {
  const auto begin = out.find("[Unit]");
  const auto end = out.find("\n[drove]");
  if (begin == std::string::npos || end == std::string::npos) return "";
  return out.substr(begin, end - begin);
}

bool has_systemd_analyze() { return ::access("/usr/bin/systemd-analyze", X_OK) == 0; }

TEST(Startup, DryRunPrintsAUnitThatSystemdAccepts) {
  if (!has_systemd_analyze()) GTEST_SKIP() << "systemd-analyze not installed (Debian package systemd)";
  DroveHome home;
  auto r = home.drove({"startup", "systemd", "--dry-run", "--service-name", "drove-e2e", "--watchdog-sec", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string unit = unit_of(r.out);
  ASSERT_FALSE(unit.empty()) << r.out;
  EXPECT_NE(unit.find("Type=notify\n"), std::string::npos);
  EXPECT_NE(unit.find("ExecStart=" + std::string(DROVE_BIN) + " daemon --resurrect\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("Environment=DROVE_HOME=" + home.path() + "\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("KillMode=mixed\n"), std::string::npos);
  EXPECT_NE(unit.find("WatchdogSec=30\n"), std::string::npos);
  EXPECT_NE(r.out.find("would write /etc/systemd/system/drove-e2e.service"), std::string::npos) << r.out;
  // Nothing was installed.
  EXPECT_NE(::access("/etc/systemd/system/drove-e2e.service", F_OK), 0);

  const std::string file = home.scratch() + "/drove-e2e.service";
  write_file(file, unit);
  auto verify = run_program({"/usr/bin/systemd-analyze", "verify", file});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.err.find("drove-e2e.service:"), std::string::npos) << verify.err;  // no complaint about a line
}

TEST(Startup, UnsupportedPlatformsAndUnsafeValuesAreRefusedInOneLine) {
  DroveHome home;
  auto r = home.drove({"startup", "launchd", "--dry-run"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("'launchd' is not supported; supported: systemd"), std::string::npos) << r.err;
  r = home.drove({"startup", "systemd", "--dry-run", "--hp", "/home/a b"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("has the character ' '"), std::string::npos) << r.err;
  r = home.drove({"unstartup", "systemd", "--dry-run", "--service-name", "drove-e2e"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("would run `systemctl disable drove-e2e.service`"), std::string::npos) << r.out;
}

TEST(Startup, UnitTextRefusesSpecifiersAndRelativePaths) {
  cli::UnitParams p{.exe = "/usr/bin/drove", .user = "app", .drove_home = "/home/app/.drove", .path = "/usr/bin"};
  EXPECT_NE(cli::systemd_unit(p).find("User=app\n"), std::string::npos);
  EXPECT_EQ(cli::systemd_unit(p).find("WatchdogSec"), std::string::npos);
  p.drove_home = "/home/%u/.drove";  // systemd would expand %u
  EXPECT_THROW(cli::systemd_unit(p), cli::UserError);
  p.drove_home = "relative/.drove";
  EXPECT_THROW(cli::systemd_unit(p), cli::UserError);
}

// A datagram socket standing in for systemd's notify socket.
struct NotifyListener {
  std::string path;
  UniqueFd fd;

  explicit NotifyListener(std::string at) : path(std::move(at)) {
    fd = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  }
  // The next datagram, or "" after `timeout_ms`.
  std::string next(int timeout_ms) const {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return "";
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }
  // Datagrams until one contains `what` (bounded); all of them, in order.
  std::vector<std::string> until(const std::string& what, int timeout_ms = 30000) const {
    std::vector<std::string> seen;
    for (int waited = 0; waited < timeout_ms; waited += 100) {
      const std::string d = next(100);
      if (d.empty()) continue;
      seen.push_back(d);
      if (d.find(what) != std::string::npos) break;
    }
    return seen;
  }
};

TEST(Startup, DaemonRunAsTheUnitDoesIsReadyAfterResurrectAndKeepsTheWatchdogFed) {
  DroveHome home;
  // A saved list with one app, then no daemon: the state of a machine that just booted.
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "booted"}).exit_code, 0);
  const pid_t before = home.wait_online("booted", 1).at(0);
  ASSERT_EQ(home.drove({"save"}).exit_code, 0);
  ASSERT_EQ(home.drove({"kill"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return !pid_alive(before); }));

  NotifyListener notify(home.scratch() + "/notify");
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.push_back("DROVE_HOME=" + home.path());
  env.push_back("NOTIFY_SOCKET=" + notify.path);
  env.push_back("WATCHDOG_USEC=400000");  // WatchdogSec=0.4: keep-alives every 200 ms
  UniqueFd log(::open((home.scratch() + "/daemon.out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  auto daemon = process::spawn({.file = DROVE_BIN,
                                .argv = {DROVE_BIN, "daemon", "--resurrect"},
                                .env = env,
                                .fds = {{1, log.get()}, {2, log.get()}}});
  ASSERT_TRUE(daemon.ok()) << daemon.error().message();

  const auto first = notify.until("READY=1");
  ASSERT_FALSE(first.empty()) << read_file(home.scratch() + "/daemon.out");
  const std::string& ready = first.back();
  ASSERT_NE(ready.find("READY=1"), std::string::npos) << read_file(home.scratch() + "/daemon.out");
  // READY=1 came once the saved app was online again, and says so.
  EXPECT_NE(ready.find("STATUS=1 process(es) of 1 app(s), 1 online"), std::string::npos) << ready;
  EXPECT_NE(ready.find("MAINPID=" + std::to_string(*daemon)), std::string::npos) << ready;
  const auto apps = home.processes("booted");
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0]["pm2_env"].value("status", ""), "online");
  const pid_t resurrected = apps[0].value("pid", 0);
  EXPECT_NE(resurrected, before);

  // The watchdog is fed from the loop, again and again.
  for (int i = 0; i < 3; ++i) {
    const auto fed = notify.until("WATCHDOG=1", 5000);
    ASSERT_FALSE(fed.empty());
    EXPECT_EQ(fed.back(), "WATCHDOG=1");
  }
  // The app does not inherit the daemon's notify socket.
  const std::string app_env = read_file("/proc/" + std::to_string(resurrected) + "/environ");
  EXPECT_EQ(app_env.find(notify.path), std::string::npos);

  // systemctl stop: SIGTERM to the daemon (KillMode=mixed); it says STOPPING=1, stops the app,
  // exits 0.
  ASSERT_EQ(::kill(*daemon, SIGTERM), 0);
  const auto stopping = notify.until("STOPPING=1", 10000);
  ASSERT_FALSE(stopping.empty());
  EXPECT_NE(stopping.back().find("STOPPING=1"), std::string::npos);
  int status = 0;
  ASSERT_TRUE(wait_until([&] { return ::waitpid(*daemon, &status, WNOHANG) == *daemon; }, std::chrono::seconds(15)));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(wait_until([&] { return !pid_alive(resurrected); }));
}

TEST(Startup, DaemonWithNothingSavedIsReadyAtOnce) {
  DroveHome home;
  NotifyListener notify(home.scratch() + "/notify");
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "DROVE_HOME=" + home.path(),
                                  "NOTIFY_SOCKET=" + notify.path};
  auto daemon = process::spawn({.file = DROVE_BIN, .argv = {DROVE_BIN, "daemon", "--resurrect"}, .env = env});
  ASSERT_TRUE(daemon.ok()) << daemon.error().message();
  const auto seen = notify.until("READY=1");
  ASSERT_FALSE(seen.empty());
  EXPECT_NE(seen.back().find("STATUS=0 process(es) of 0 app(s), 0 online (no saved list)"), std::string::npos)
      << seen.back();
  EXPECT_EQ(home.drove({"ping"}).exit_code, 0);
  ASSERT_EQ(::kill(*daemon, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(wait_until([&] { return ::waitpid(*daemon, &status, WNOHANG) == *daemon; }, std::chrono::seconds(15)));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace drove::e2e
