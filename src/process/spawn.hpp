// spawn(): start one program, the way every process drove runs is started.
//
// Model (after folly::Subprocess and Chromium's launch_posix): everything the child needs is
// prepared in the parent (argv/envp arrays, the resolved executable path, the fd plan); between
// fork and exec the child makes only async-signal-safe calls and never allocates. If a set-up
// step or exec fails, the child writes {step, errno} to a close-on-exec pipe and _exits; the
// parent reads that pipe until EOF, so "file not found", "permission denied" or "exec format
// error" come back as a typed error instead of an exit code 127.
//
// spawn() is synchronous (it returns once exec has happened or failed) and thread-compatible.
// It does not reap: the caller watches the pid (see reaper.hpp).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace drove::process {

struct FdMapping {
  int child_fd;   // the descriptor number the child sees (0, 1, 2, 3, ...)
  int parent_fd;  // the parent's descriptor to put there (stays open in the parent)
};

struct SpawnOptions {
  std::string file;               // program; searched in the child's PATH when it has no '/'
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // the child's whole environment, "KEY=value"
  std::string cwd;                // empty: inherit
  std::vector<FdMapping> fds;     // the child's descriptors; fds not listed are closed at exec
                                  // (stdin defaults to /dev/null when 0 is not listed)
  bool new_session = true;        // setsid(): own session and process group (pgid == pid)
  bool set_listen_pid = false;    // add LISTEN_PID=<the child's own pid> (socket activation)
  std::optional<uid_t> uid;       // drop privileges (needs root)
  std::optional<gid_t> gid;
  int cgroup_procs_fd = -1;   // a cgroup's cgroup.procs (see cgroup.hpp): the child joins it
                              // first, so everything it starts is in that cgroup too
  std::vector<gid_t> groups;  // supplementary groups with uid/gid (empty: just gid), computed
                              // by the caller (initgroups would read files in the child)
};

// Starts the program. On success returns the child's pid; the child has exec'd.
Result<pid_t> spawn(const SpawnOptions& options);

// Finds `name` in `path_list` (colon-separated) the way execvp does; a name with '/' is
// returned as is. Returns the first candidate that exists and is executable, else the first
// that exists (so the caller reports EACCES rather than ENOENT), else nullopt.
std::optional<std::string> find_executable(const std::string& name, const std::string& path_list);

}  // namespace drove::process
