#include "cli/startup.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/client.hpp"
#include "process/spawn.hpp"

namespace drove::cli {

namespace {

constexpr const char* kUnitDir = "/etc/systemd/system";

// A value systemd reads as written: no whitespace, quotes, backslashes or '%' (specifiers).
void check_plain(std::string_view what, std::string_view value) {
  if (value.empty()) throw UserError(fmt::format("drove startup: {} is empty", what));
  for (const char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("/._-+:@,=").find(c) != std::string_view::npos;
    if (!ok)
      throw UserError(fmt::format(
          "drove startup: {} '{}' has the character '{}', which a unit file would not keep as is", what, value, c));
  }
}

std::string platform_of(const std::string& asked) {
  if (asked.empty()) {
    struct stat st {};
    if (::stat("/run/systemd/system", &st) == 0 || ::access("/usr/bin/systemctl", X_OK) == 0 ||
        ::access("/bin/systemctl", X_OK) == 0)
      return "systemd";
    throw UserError("drove startup: no init system detected; supported: systemd");
  }
  for (const char* name : {"systemd", "ubuntu", "centos", "redhat"}) {
    if (asked == name) return "systemd";
  }
  throw UserError("drove startup: '" + asked + "' is not supported; supported: systemd");
}

struct Account {
  std::string name;
  std::string home;
};

Account account_of(const StartupOptions& o) {
  const passwd* pw = o.user.empty() ? ::getpwuid(::geteuid()) : ::getpwnam(o.user.c_str());
  if (pw == nullptr) throw UserError("drove startup: no user '" + o.user + "' on this machine");
  return {pw->pw_name, o.home_path.empty() ? std::string(pw->pw_dir) : o.home_path};
}

std::string self_exe() {
  std::array<char, PATH_MAX> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw UserError("drove startup: cannot find this program's path (/proc/self/exe)");
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

std::string service_name_of(const StartupOptions& o, const Account& account) {
  std::string name = o.service_name.empty() ? "drove-" + account.name : o.service_name;
  if (name.ends_with(".service")) name.resize(name.size() - 8);
  check_plain("--service-name", name);
  if (name.find('/') != std::string::npos) throw UserError("drove startup: --service-name '" + name + "' has a '/'");
  return name;
}

// Runs a command, its output to ours; its exit status.
int run_command(const std::vector<std::string>& argv) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  auto pid = process::spawn({.file = argv[0], .argv = argv, .env = env, .fds = {{1, 1}, {2, 2}}, .new_session = false});
  if (!pid.ok()) throw UserError("drove startup: " + argv[0] + ": " + pid.error().message());
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Writes the unit as root: a fresh temporary file, fsync, rename over the old one. O_NOFOLLOW
// and O_EXCL: a link planted in /etc/systemd/system is never followed.
void write_unit(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".drove-tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw UserError(fmt::format("drove startup: cannot write {}: {}", tmp, std::strerror(errno)));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = written ? errno : saved;
    ::unlink(tmp.c_str());
    throw UserError(fmt::format("drove startup: cannot write {}: {}", path, std::strerror(err)));
  }
}

std::string sudo_line(const std::string& verb, const StartupOptions& o, const Account& account,
                      const std::string& exe) {
  std::string line =
      "sudo env PATH=$PATH " + exe + " " + verb + " systemd -u " + account.name + " --hp " + account.home;
  if (!o.service_name.empty()) line += " --service-name " + o.service_name;
  if (verb == "startup" && o.watchdog_sec > 0) line += " --watchdog-sec " + std::to_string(o.watchdog_sec);
  if (verb == "startup" && o.timeout_stop_sec != 60)
    line += " --timeout-stop-sec " + std::to_string(o.timeout_stop_sec);
  return line;
}

}  // namespace

std::string systemd_unit(const UnitParams& p) {
  check_plain("the drove binary's path", p.exe);
  check_plain("--user", p.user);
  check_plain("DROVE_HOME", p.drove_home);
  check_plain("PATH", p.path);
  if (p.exe[0] != '/' || p.drove_home[0] != '/')
    throw UserError("drove startup: the binary and --hp must be absolute paths");
  std::string unit = fmt::format(
      "# Written by `drove startup`: the drove daemon of user {user}, which starts the saved process\n"
      "# list (`drove save`) at boot. Remove it with `drove unstartup`.\n"
      "[Unit]\n"
      "Description=drove process manager ({user})\n"
      "After=network.target\n"
      "\n"
      "[Service]\n"
      "# The daemon says READY=1 once `drove resurrect` has brought the saved apps up.\n"
      "Type=notify\n"
      "NotifyAccess=main\n"
      "User={user}\n"
      "Environment=DROVE_HOME={home}\n"
      "Environment=PATH={path}\n"
      "LimitNOFILE=infinity\n"
      "ExecStart={exe} daemon --resurrect\n"
      "ExecReload={exe} reloadLogs\n"
      "# SIGTERM to the daemon alone: it stops every app gracefully (Node cluster workers\n"
      "# disconnect, each app within its kill_timeout); what is left when TimeoutStopSec ends is\n"
      "# killed by systemd.\n"
      "KillMode=mixed\n"
      "TimeoutStartSec=300\n"
      "TimeoutStopSec={stop}\n"
      "Restart=on-failure\n"
      "RestartSec=1\n"
      "# drove gives every app run a cgroup of its own, inside the service's.\n"
      "Delegate=yes\n",
      fmt::arg("user", p.user), fmt::arg("home", p.drove_home), fmt::arg("path", p.path), fmt::arg("exe", p.exe),
      fmt::arg("stop", p.timeout_stop_sec));
  if (p.watchdog_sec > 0) unit += fmt::format("WatchdogSec={}\n", p.watchdog_sec);
  unit += "\n[Install]\nWantedBy=multi-user.target\n";
  return unit;
}

int cmd_startup(const StartupOptions& o) {
  platform_of(o.platform);
  if (o.watchdog_sec < 0 || o.timeout_stop_sec <= 0)
    throw UserError("drove startup: --watchdog-sec must be >= 0 and --timeout-stop-sec > 0");
  const Account account = account_of(o);
  const std::string exe = self_exe();
  const std::string name = service_name_of(o, account);
  const char* path = std::getenv("PATH");
  // Your own $DROVE_HOME when the unit is for you and --hp does not say otherwise.
  const char* own_home = std::getenv("DROVE_HOME");
  const passwd* self = ::getpwuid(::geteuid());
  const bool for_self = self != nullptr && account.name == self->pw_name && o.home_path.empty();
  const UnitParams params{.exe = exe,
                          .user = account.name,
                          .drove_home = for_self && own_home && *own_home ? own_home : account.home + "/.drove",
                          .path = path && *path ? path : "/usr/local/bin:/usr/bin:/bin",
                          .watchdog_sec = o.watchdog_sec,
                          .timeout_stop_sec = o.timeout_stop_sec};
  const std::string unit = systemd_unit(params);
  const std::string unit_path = std::string(kUnitDir) + "/" + name + ".service";
  const std::vector<std::vector<std::string>> commands = {{"systemctl", "daemon-reload"},
                                                          {"systemctl", "enable", name + ".service"}};
  if (o.dry_run || ::geteuid() != 0) {
    std::printf("# %s\n%s\n", unit_path.c_str(), unit.c_str());
    if (o.dry_run) {
      std::printf("[drove] dry run: would write %s, then run:\n", unit_path.c_str());
      for (const auto& c : commands) std::printf("  %s\n", joined(c).c_str());
    } else {
      std::printf("[drove] to install this unit, run as root:\n  %s\n", sudo_line("startup", o, account, exe).c_str());
    }
    return 0;
  }
  write_unit(unit_path, unit);
  std::printf("[drove] wrote %s\n", unit_path.c_str());
  for (const auto& c : commands) {
    std::printf("[drove] %s\n", joined(c).c_str());
    if (const int code = run_command(c); code != 0)
      throw UserError(fmt::format("drove startup: `{}` failed (exit status {})", joined(c), code));
  }
  std::printf(
      "[drove] %s starts at boot and brings back the list saved by `drove save`.\n"
      "[drove] start it now with: systemctl start %s\n",
      name.c_str(), name.c_str());
  return 0;
}

int cmd_unstartup(const StartupOptions& o) {
  platform_of(o.platform);
  const Account account = account_of(o);
  const std::string name = service_name_of(o, account);
  const std::string unit_path = std::string(kUnitDir) + "/" + name + ".service";
  const std::vector<std::string> disable = {"systemctl", "disable", name + ".service"};
  const std::vector<std::string> reload = {"systemctl", "daemon-reload"};
  if (o.dry_run || ::geteuid() != 0) {
    if (o.dry_run) {
      std::printf("[drove] dry run: would run `%s`, remove %s, then run `%s`\n", joined(disable).c_str(),
                  unit_path.c_str(), joined(reload).c_str());
    } else {
      std::printf("[drove] to remove the unit, run as root:\n  %s\n",
                  sudo_line("unstartup", o, account, self_exe()).c_str());
    }
    return 0;
  }
  struct stat st {};
  if (::lstat(unit_path.c_str(), &st) != 0) throw UserError("drove unstartup: no unit " + unit_path);
  std::printf("[drove] %s\n", joined(disable).c_str());
  if (const int code = run_command(disable); code != 0)
    throw UserError(fmt::format("drove unstartup: `{}` failed (exit status {})", joined(disable), code));
  if (::unlink(unit_path.c_str()) != 0)
    throw UserError(fmt::format("drove unstartup: cannot remove {}: {}", unit_path, std::strerror(errno)));
  std::printf("[drove] removed %s\n[drove] %s\n", unit_path.c_str(), joined(reload).c_str());
  (void)run_command(reload);
  std::puts("[drove] the running daemon, if any, was left running; `drove kill` stops it");
  return 0;
}

}  // namespace drove::cli
