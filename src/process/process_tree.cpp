#include "process/process_tree.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "process/proc_table.hpp"

namespace drove::process {
namespace {

// True when `pid` currently names the process that had `start_ticks` (not a recycled pid).
bool same_process(pid_t pid, std::uint64_t start_ticks) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[1024];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  ProcEntry e;
  return ProcTable::parse_stat(buf, e) && e.start_ticks == start_ticks;
}

// A pidfd polls readable once its process has exited (zombie or reaped).
bool exited(const UniqueFd& pidfd) {
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

bool environment_contains(pid_t pid, const std::string& entry) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/environ", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  // The environment at exec; entries are NUL-separated. Bounded read: the marker is set by
  // us among the first entries only if the app keeps its environment, so a huge one is read
  // in chunks rather than whole.
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) break;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, end - start, entry) == 0) return true;
    start = end + 1;
  }
  return false;
}

TreeSnapshot TreeSnapshot::take(Identity identity, bool leader_unreaped) {
  TreeSnapshot snap;
  snap.identity_ = std::move(identity);
  snap.refresh(leader_unreaped);
  return snap;
}

bool TreeSnapshot::holds(pid_t pid, std::uint64_t start_ticks) const {
  for (const Member& m : members_) {
    if (m.pid == pid && m.start_ticks == start_ticks) return true;
  }
  return false;
}

void TreeSnapshot::refresh(bool leader_unreaped) {
  std::optional<ProcTable> fresh;
  if (!identity_.table) fresh.emplace(ProcTable::snapshot());
  const ProcTable& table = fresh ? *fresh : identity_.table();
  const pid_t self = ::getpid();
  const pid_t root = identity_.root;

  // The group number is the root's while the root is unreaped, or while a process we already
  // hold (verified by pidfd) is still alive in that group.
  bool group_is_ours = leader_unreaped;
  for (const Member& m : members_) {
    if (group_is_ours) break;
    const ProcEntry* e = table.find(m.pid);
    group_is_ours = e && e->start_ticks == m.start_ticks && e->pgid == root && !exited(m.pidfd);
  }

  std::vector<pid_t> seeds;
  for (const auto& [pid, e] : table.entries()) {
    if (pid == self) continue;
    bool ours = holds(pid, e.start_ticks);
    if (!ours && pid == root && leader_unreaped) ours = true;
    if (!ours && group_is_ours && e.pgid == root) ours = true;
    if (!ours && e.ppid == self && !identity_.marker.empty() &&
        !(identity_.is_other_run && identity_.is_other_run(pid))) {
      ours = environment_contains(pid, identity_.marker);
    }
    if (ours) seeds.push_back(pid);
  }
  // Everything below a member belongs too (children that left the group, their children...).
  std::unordered_set<pid_t> seen;
  for (pid_t seed : seeds) {
    for (const ProcEntry& e : table.tree(seed)) {
      if (!seen.insert(e.pid).second || holds(e.pid, e.start_ticks)) continue;
      // Open first, then verify: if the pid was recycled after the scan, the pidfd refers to
      // the newcomer and the start time does not match, so it is dropped.
      UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, e.pid, 0)));
      if (!pidfd || !same_process(e.pid, e.start_ticks)) continue;
      members_.push_back({e.pid, e.start_ticks, e.pgid, std::move(pidfd)});
    }
  }
  // Members that are gone no longer need a descriptor.
  std::erase_if(members_, [](const Member& m) { return exited(m.pidfd); });
}

void TreeSnapshot::signal(int sig) const {
  for (const Member& m : members_) ::syscall(SYS_pidfd_send_signal, m.pidfd.get(), sig, nullptr, 0);
}

bool TreeSnapshot::any_member_alive() const {
  for (const Member& m : members_) {
    if (!exited(m.pidfd)) return true;
  }
  return false;
}

bool TreeSnapshot::alive(bool rescan) {
  if (any_member_alive()) return true;
  if (!rescan) return false;
  refresh(false);
  return any_member_alive();
}

}  // namespace drove::process
