#include "process/process_tree.hpp"

#include <signal.h>
#include <cstdio>
#include <cstring>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.hpp"
#include "process/proc_table.hpp"

namespace drove::process {
namespace {

// True when `pid` currently names the process that had `start_ticks` (not a recycled pid) and
// it is not a zombie waiting for its parent.
bool same_process(pid_t pid, std::uint64_t start_ticks) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (!f) return false;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  ProcEntry e;
  if (!ProcTable::parse_stat(buf, e) || e.start_ticks != start_ticks) return false;
  const char* close = std::strrchr(buf, ')');
  return !(close && close[1] == ' ' && close[2] == 'Z');
}

}  // namespace

TreeSnapshot TreeSnapshot::take(pid_t root) {
  TreeSnapshot snap;
  snap.group_ = root;
  const ProcTable table = ProcTable::snapshot();
  for (const ProcEntry& e : table.tree(root)) {
    if (e.pid == root) continue;
    snap.members_.push_back({e.pid, e.start_ticks});
  }
  return snap;
}

void TreeSnapshot::signal(int sig) const {
  if (group_ > 0) ::kill(-group_, sig);
  for (const Member& m : members_) {
    // Open a pidfd first, then verify identity: if the pid was recycled after the check, the
    // pidfd still refers to the process we verified, never to a newcomer.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, m.pid, 0)));
    if (!pidfd) continue;
    if (!same_process(m.pid, m.start_ticks)) continue;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);
  }
}

bool TreeSnapshot::alive() const {
  // A zombie still answers kill(0); ours are reaped before this is asked, and an orphaned
  // one is re-parented to us (subreaper) and reaped too, so a live group means a live member.
  if (group_ > 0 && ::kill(-group_, 0) == 0) return true;
  for (const Member& m : members_) {
    if (same_process(m.pid, m.start_ticks)) return true;
  }
  return false;
}

}  // namespace drove::process
