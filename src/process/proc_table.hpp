// ProcTable: one snapshot of /proc, enough to answer "which processes descend from pid P, and
// what do they use". Taken by the daemon's sampler for CPU/memory and by the tree signaller to
// find an app's descendants, including ones that left its process group.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/uv_handle.hpp"

namespace drove::process {

struct ProcEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  std::uint64_t cpu_ticks = 0;    // utime + stime
  std::uint64_t start_ticks = 0;  // starttime: with pid, identifies a process across snapshots
  std::uint64_t rss_bytes = 0;
  std::uint32_t threads = 0;
};

// What a process holds beyond /proc/<pid>/stat: its open descriptors (the entries of
// /proc/<pid>/fd) and its private memory (resident minus shared pages, /proc/<pid>/statm).
// Two more reads per process: the sampler takes them on a pool thread, for instances' trees only.
struct Footprint {
  std::uint64_t private_bytes = 0;
  std::uint32_t fds = 0;
  Footprint& operator+=(const Footprint& other) {
    private_bytes += other.private_bytes;
    fds += other.fds;
    return *this;
  }
};
Footprint footprint_of(pid_t pid);

// The start time of `pid` (clock ticks since boot, /proc/<pid>/stat): with the pid, it names one
// process for its whole life. 0 when it is gone or unreadable.
std::uint64_t start_ticks_of(pid_t pid);

class ProcTable {
 public:
  // Reads /proc now.
  static ProcTable snapshot();
  // Parses the text of /proc/<pid>/stat (exposed for tests).
  static bool parse_stat(const char* text, ProcEntry& out);

  // `root` and every process below it (by parent links), root first; empty if root is gone.
  [[nodiscard]] std::vector<ProcEntry> tree(pid_t root) const;

  [[nodiscard]] const ProcEntry* find(pid_t pid) const;
  [[nodiscard]] const std::unordered_map<pid_t, ProcEntry>& entries() const { return entries_; }

 private:
  std::unordered_map<pid_t, ProcEntry> entries_;
  std::unordered_multimap<pid_t, pid_t> children_;
};

// One snapshot shared by everything one loop turn does: reading /proc costs tens of
// microseconds per process, so with 1,000 apps a snapshot is tens of milliseconds, and stopping
// 1,000 instances without cgroups took one per stop (and another per signal). The snapshot is
// read on first use in a turn and dropped before the loop waits for I/O again (a prepare
// handle), so it never outlives the turn it was read in.
class TurnProcTable {
 public:
  explicit TurnProcTable(uv_loop_t* loop);
  TurnProcTable(const TurnProcTable&) = delete;
  TurnProcTable& operator=(const TurnProcTable&) = delete;

  const ProcTable& get();
  // Forgets the snapshot now (after this daemon forked or reaped in the same turn, say).
  void invalidate() { table_.reset(); }

 private:
  UvHandle<uv_prepare_t> prepare_;
  std::optional<ProcTable> table_;
};

// Clock ticks per second for cpu_ticks.
long clock_ticks_per_second();

}  // namespace drove::process
