// Process trees by cgroup v2: one cgroup per run, so "every process this app started" is a
// kernel fact rather than a guess from parent links. A daemonised grandchild (double fork +
// setsid) stays in its run's cgroup, and cgroup.kill (Linux >= 5.14) ends the whole tree at
// once, without a pid or group number that could have been recycled.
//
// The daemon makes `<cgroup2 mount><its own cgroup>/drove-<pid>` at start when it may (root
// with a writable cgroup2 hierarchy, or a delegated subtree) and `run-<n>` inside it per run;
// the child joins its cgroup between fork and exec by writing "0" to the cgroup.procs fd it
// inherits (write(2) is async-signal-safe). No controller is enabled: membership is all we use.
// When cgroups are unavailable (or DROVE_CGROUPS=off), the caller falls back to TreeSnapshot.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace drove::process {

class RunCgroup;

class CgroupRoot {
 public:
  // The daemon's subtree, or an error saying why cgroups cannot be used (and how to fix it).
  static Result<std::unique_ptr<CgroupRoot>> create();
  ~CgroupRoot();
  CgroupRoot(const CgroupRoot&) = delete;
  CgroupRoot& operator=(const CgroupRoot&) = delete;

  // A fresh cgroup for one run, named `name` inside the subtree.
  Result<std::unique_ptr<RunCgroup>> make_run(const std::string& name) const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  explicit CgroupRoot(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// One run's cgroup. Removed (rmdir) when destroyed if empty by then.
class RunCgroup {
 public:
  RunCgroup(std::string path, UniqueFd procs) : path_(std::move(path)), procs_(std::move(procs)) {}
  ~RunCgroup();
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;

  // For SpawnOptions::cgroup_procs_fd: the child writes "0" here to join.
  [[nodiscard]] int procs_fd() const { return procs_.get(); }
  // Sends `sig` to every member (through pidfds, membership re-checked after opening them).
  void signal(int sig) const;
  // SIGKILL to every member, atomically with respect to forks (cgroup.kill).
  void kill_all() const;
  // True while any process is in the cgroup (cgroup.events "populated 1").
  [[nodiscard]] bool populated() const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd procs_;
};

}  // namespace drove::process
