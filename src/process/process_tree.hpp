// Signalling an app's whole process tree without cgroups (the fallback of cgroup.hpp), and
// knowing when it is gone.
//
// Members are found in /proc and held by pidfd, opened first and then checked against the
// start time seen in the scan, so a recycled pid is never signalled. A process belongs to the
// tree when it is the root, descends from a member by parent links, shares the root's process
// group while that group number is provably still the root's (the leader is unreaped, or a
// member already held is still in it), or was re-parented to this daemon (the subreaper) and
// carries the run's marker in its environment (a daemonised descendant: double fork + setsid
// leaves both the group and the parent chain). The group is never signalled by number
// (kill(-pgid)): once empty, its number can be taken by any new session leader.
//
// Known gap, documented in docs/reliability.md: a descendant that escapes both the parent
// chain and the group and also wipes its environment cannot be attributed; cgroups close it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "process/proc_table.hpp"

namespace drove::process {

class TreeSnapshot {
 public:
  // `marker`: the "KEY=value" environment entry every process of the run inherits.
  // `is_other_run(pid)`: true for the daemon's own direct children that are other runs' main
  // processes (skipped without reading their environment).
  struct Identity {
    pid_t root = 0;
    std::string marker;
    std::function<bool(pid_t)> is_other_run;
    // Where scans read /proc (the daemon shares one snapshot per loop turn: TurnProcTable);
    // empty: a fresh snapshot per scan.
    std::function<const ProcTable&()> table;
  };

  // Records the tree now. `leader_unreaped`: the root has not been reaped yet, so its pid (and
  // group number) cannot have been recycled.
  static TreeSnapshot take(Identity identity, bool leader_unreaped);

  // Adds the processes that joined the tree since the last scan.
  void refresh(bool leader_unreaped);
  // Sends `signal` to every recorded member still alive.
  void signal(int sig) const;
  // True while a recorded member is alive. With `rescan`, first looks for newcomers (a fork
  // that raced the last scan) when every recorded member is gone.
  [[nodiscard]] bool alive(bool rescan = false);
  [[nodiscard]] pid_t group() const { return identity_.root; }
  [[nodiscard]] size_t size() const { return members_.size(); }

 private:
  struct Member {
    pid_t pid;
    std::uint64_t start_ticks;
    pid_t pgid;
    UniqueFd pidfd;
  };
  [[nodiscard]] bool holds(pid_t pid, std::uint64_t start_ticks) const;
  [[nodiscard]] bool any_member_alive() const;

  Identity identity_;
  std::vector<Member> members_;
};

// True when /proc/<pid>/environ contains exactly `entry` ("KEY=value").
bool environment_contains(pid_t pid, const std::string& entry);

}  // namespace drove::process
