#include "process/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace drove::process {
namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The cgroup2 mount point, from /proc/self/mountinfo ("" when there is none).
std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line);
    std::string id, parent, devices, root, mount_point;
    fields >> id >> parent >> devices >> root >> mount_point;
    return mount_point;
  }
  return {};
}

// This process's cgroup in the unified hierarchy (the "0::<path>" line of /proc/self/cgroup).
std::string own_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

Status write_text(const std::string& path, const char* text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return last_error("open \"" + path + "\"");
  const size_t n = std::strlen(text);
  if (::write(fd.get(), text, n) != static_cast<ssize_t>(n)) return last_error("write \"" + path + "\"");
  return Ok{};
}

// True when /proc/<pid>/cgroup still places `pid` in `relative` (the path below the mount).
bool member_of(pid_t pid, const std::string& relative) {
  const std::string text = read_small_file("/proc/" + std::to_string(pid) + "/cgroup");
  return text.find("0::" + relative + "\n") != std::string::npos;
}

}  // namespace

Result<std::unique_ptr<CgroupRoot>> CgroupRoot::create() {
  if (const char* off = std::getenv("DROVE_CGROUPS"); off && std::strcmp(off, "off") == 0) {
    return SysError{ENOTSUP, "cgroups disabled by DROVE_CGROUPS=off"};
  }
  const std::string mount = cgroup2_mount();
  if (mount.empty()) return SysError{ENOENT, "no cgroup2 hierarchy is mounted"};
  std::string own = own_cgroup();
  if (own == "/") own.clear();
  const std::string base = mount + own;
  if (::access((base + "/cgroup.procs").c_str(), F_OK) != 0)
    return last_error("find this process's cgroup \"" + base + "\"");
  // cgroup.kill is what makes this path worth taking (Linux 5.14+); without it, the fallback.
  if (::access((base + "/cgroup.kill").c_str(), F_OK) != 0 && !own.empty()) {
    return SysError{ENOTSUP, "\"" + base + "\" has no cgroup.kill (Linux >= 5.14 needed)"};
  }
  const std::string path = base + "/drove-" + std::to_string(::getpid());
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return last_error("create cgroup \"" + path +
                      "\" (run the daemon as root, or delegate a cgroup subtree to its user)");
  }
  if (::access((path + "/cgroup.kill").c_str(), W_OK) != 0) {
    ::rmdir(path.c_str());
    return SysError{ENOTSUP, "\"" + path + "\" has no writable cgroup.kill (Linux >= 5.14 needed)"};
  }
  return std::unique_ptr<CgroupRoot>(new CgroupRoot(path));
}

CgroupRoot::~CgroupRoot() {
  // Runs still here are empty by now (each removes itself); a leftover keeps the dir: harmless.
  ::rmdir(path_.c_str());
}

Result<std::unique_ptr<RunCgroup>> CgroupRoot::make_run(const std::string& name) const {
  const std::string path = path_ + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return last_error("create cgroup \"" + path + "\"");
  UniqueFd procs(::open((path + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!procs) {
    const SysError error = last_error("open \"" + path + "/cgroup.procs\"");
    ::rmdir(path.c_str());
    return error;
  }
  return std::make_unique<RunCgroup>(path, std::move(procs));
}

RunCgroup::~RunCgroup() {
  procs_.reset();
  ::rmdir(path_.c_str());  // EBUSY when something survived: left for the daemon's exit
}

void RunCgroup::signal(int sig) const {
  const std::string relative = path_.substr(cgroup2_mount().size());
  std::istringstream pids(read_small_file(path_ + "/cgroup.procs"));
  pid_t pid = 0;
  while (pids >> pid) {
    // Open first, then check membership: a pid recycled after the read is not in our cgroup,
    // and the pidfd keeps pointing at the process we checked.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd || !member_of(pid, relative)) continue;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);
  }
}

void RunCgroup::kill_all() const { (void)write_text(path_ + "/cgroup.kill", "1"); }

bool RunCgroup::populated() const {
  return read_small_file(path_ + "/cgroup.events").find("populated 1") != std::string::npos;
}

}  // namespace drove::process
