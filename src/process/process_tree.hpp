// Signalling an app's whole process tree, and knowing when it is gone.
//
// An instance's main process is a session and process-group leader (spawn() calls setsid), so
// its descendants share its process group unless they move out. A TreeSnapshot records the
// group and every descendant (pid + start time, so a recycled pid is never mistaken for one of
// ours) at the moment a stop begins; signal() reaches the group and each recorded descendant
// through a pidfd opened only after re-checking the start time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace drove::process {

class TreeSnapshot {
 public:
  // Records `root`'s group and descendants now (root need not be alive any more).
  static TreeSnapshot take(pid_t root);

  // Sends `signal` to the group and every recorded descendant still alive.
  void signal(int sig) const;
  // True while any member of the group or a recorded descendant is alive (zombies excluded
  // only once reaped: our own reaper runs before this is asked).
  [[nodiscard]] bool alive() const;
  [[nodiscard]] pid_t group() const { return group_; }

 private:
  struct Member {
    pid_t pid;
    std::uint64_t start_ticks;
  };
  pid_t group_ = 0;
  std::vector<Member> members_;
};

}  // namespace drove::process
