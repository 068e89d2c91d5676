#include "process/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "base/unique_fd.hpp"
#include "process/fork.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace drove::process {
namespace {

// The set-up step that failed in the child, reported to the parent with errno.
enum class Step : int { dup_fd = 1, chdir, setsid, setgid, setuid, exec, open_null, join_cgroup };

struct ChildReport {
  int step;
  int error;
};

const char* step_name(Step step) {
  switch (step) {
    case Step::dup_fd:
      return "set up file descriptors";
    case Step::chdir:
      return "change directory to";
    case Step::setsid:
      return "create session";
    case Step::setgid:
      return "set group id";
    case Step::setuid:
      return "set user id";
    case Step::exec:
      return "exec";
    case Step::open_null:
      return "open /dev/null";
    case Step::join_cgroup:
      return "join its cgroup";
  }
  return "spawn";
}

std::string env_value(const std::vector<std::string>& env, const char* key) {
  const size_t n = std::strlen(key);
  for (const auto& entry : env) {
    if (entry.size() > n && entry.compare(0, n, key) == 0 && entry[n] == '=') return entry.substr(n + 1);
  }
  return {};
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Child code (see clone_vm_signals_blocked): async-signal-safe, writes the decimal digits of `value` into `out` (room
// for 11 chars + NUL).
DROVE_CHILD_CODE void format_pid(char* out, pid_t value) {
  char digits[16];
  int n = 0;
  unsigned v = static_cast<unsigned>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

[[noreturn]] DROVE_CHILD_CODE void child_fail(int report_fd, Step step) {
  ChildReport report{static_cast<int>(step), errno};
  ssize_t ignored = ::write(report_fd, &report, sizeof report);
  (void)ignored;
  _exit(127);
}

// What the child needs, all built before the clone: it must not allocate.
struct ChildPlan {
  const SpawnOptions* options;
  int report_fd;
  int scratch_floor;
  bool stdin_mapped;
  const char* exec_path;
  char* const* argv;
  char* const* envp;
  char* listen_pid_slot;
};

// ---- the child, sharing the parent's memory until exec: async-signal-safe calls only, raw
// system calls for credentials (clone_vm_signals_blocked) ----
[[noreturn]] DROVE_CHILD_CODE void run_child(const ChildPlan& plan) {
  const SpawnOptions& options = *plan.options;
  const int report_fd = plan.report_fd;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, SIG_DFL);
  }
  sigset_t empty;
  sigemptyset(&empty);
  pthread_sigmask(SIG_SETMASK, &empty, nullptr);

  // Before anything else (and before dropping privileges): from here on, every process
  // the program starts is born in its cgroup.
  if (options.cgroup_procs_fd >= 0 && ::write(options.cgroup_procs_fd, "0", 1) != 1)
    child_fail(report_fd, Step::join_cgroup);
  if (options.new_session && ::setsid() < 0) child_fail(report_fd, Step::setsid);

  int scratch[64];
  const size_t mapped = std::min<size_t>(options.fds.size(), 64);
  for (size_t i = 0; i < mapped; ++i) {
    scratch[i] = ::fcntl(options.fds[i].parent_fd, F_DUPFD_CLOEXEC, plan.scratch_floor);
    if (scratch[i] < 0) child_fail(report_fd, Step::dup_fd);
  }
  for (size_t i = 0; i < mapped; ++i) {
    if (::dup2(scratch[i], options.fds[i].child_fd) < 0) child_fail(report_fd, Step::dup_fd);
  }
  if (!plan.stdin_mapped) {
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0) child_fail(report_fd, Step::open_null);
    if (null_fd != 0) {
      if (::dup2(null_fd, 0) < 0) child_fail(report_fd, Step::dup_fd);
      ::close(null_fd);
    }
  }
  // Nothing of the parent's leaks into the app: every fd above the plan closes at exec.
  ::syscall(SYS_close_range, static_cast<unsigned>(plan.scratch_floor), ~0U, CLOSE_RANGE_CLOEXEC);

  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) child_fail(report_fd, Step::chdir);
  if (options.gid) {
    gid_t gid = *options.gid;
    const long rc = options.groups.empty() ? ::syscall(SYS_setgroups, 1, &gid)
                                           : ::syscall(SYS_setgroups, options.groups.size(), options.groups.data());
    if (rc != 0 || ::syscall(SYS_setgid, gid) != 0) child_fail(report_fd, Step::setgid);
  }
  if (options.uid && ::syscall(SYS_setuid, *options.uid) != 0) child_fail(report_fd, Step::setuid);
  if (plan.listen_pid_slot) format_pid(plan.listen_pid_slot, static_cast<pid_t>(::syscall(SYS_getpid)));

  ::execve(plan.exec_path, plan.argv, plan.envp);
  child_fail(report_fd, Step::exec);
}

DROVE_CHILD_CODE int child_entry(void* plan) { run_child(*static_cast<const ChildPlan*>(plan)); }

}  // namespace

std::optional<std::string> find_executable(const std::string& name, const std::string& path_list) {
  if (name.find('/') != std::string::npos) return name;
  std::optional<std::string> first_existing;
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (!first_existing && ::access(candidate.c_str(), F_OK) == 0) first_existing = candidate;
    start = end + 1;
  }
  return first_existing;
}

Result<pid_t> spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return SysError{EINVAL, "spawn: empty argv"};

  std::string path_list = env_value(options.env, "PATH");
  if (path_list.empty()) path_list = "/usr/local/bin:/usr/bin:/bin";
  auto resolved = find_executable(options.file, path_list);
  if (!resolved) return SysError{ENOENT, "exec \"" + options.file + "\" (not found in PATH)"};
  const std::string exec_path = *resolved;

  // Everything the child touches is built now: it must not allocate after fork.
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  // envp points into options.env (execve reads it, never writes): an environment of 15 MB was
  // copied here once more per spawn. Only LISTEN_PID, which the child fills in, has storage of
  // its own.
  std::string listen_pid_entry;
  char* listen_pid_slot = nullptr;
  std::vector<char*> envp;
  envp.reserve(options.env.size() + 2);
  for (const auto& entry : options.env) {
    if (options.set_listen_pid && entry.rfind("LISTEN_PID=", 0) == 0) continue;
    envp.push_back(const_cast<char*>(entry.c_str()));
  }
  if (options.set_listen_pid) {
    listen_pid_entry = std::string("LISTEN_PID=") + std::string(12, '\0');
    envp.push_back(listen_pid_entry.data());
    listen_pid_slot = listen_pid_entry.data() + std::strlen("LISTEN_PID=");
  }
  envp.push_back(nullptr);

  // The fd plan: first every source is duplicated above the highest target (so no dup2 can
  // clobber a source that is still needed), then each copy is dup2'd onto its target.
  int highest_target = 2;
  bool stdin_mapped = false;
  for (const auto& m : options.fds) {
    highest_target = std::max(highest_target, m.child_fd);
    if (m.child_fd == 0) stdin_mapped = true;
  }
  const int scratch_floor = highest_target + 1;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return last_error("spawn: pipe");
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);

  // Signals are blocked across the clone so no handler of the parent runs in the child before
  // the child has reset the dispositions.
  ChildPlan plan{&options,          report_write.get(), scratch_floor, stdin_mapped,
                 exec_path.c_str(), argv.data(),        envp.data(),   listen_pid_slot};
  const pid_t pid = clone_vm_signals_blocked(&child_entry, &plan);
  if (pid < 0) return last_error("spawn: clone");

  report_write.reset();
  ChildReport report{};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return pid;  // EOF: the pipe closed at exec, the program runs.

  // Set-up failed: the child has exited (or is about to); reap it here so it never reaches
  // the caller's reaper as a "crash".
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof report)) return SysError{EIO, "spawn: lost the child's report"};
  const auto step = static_cast<Step>(report.step);
  std::string context = step_name(step);
  if (step == Step::exec) context += " \"" + exec_path + "\"";
  if (step == Step::chdir) context += " \"" + options.cwd + "\"";
  return SysError{report.error, context};
}

}  // namespace drove::process
