// run_capture(): run a program to completion and collect what it printed — for the few places
// outside the daemon that must block on a helper (the CLI evaluating a .js ecosystem file with
// node). Built on spawn(), so a missing program is a typed ENOENT, not an exit code 127.
//
// Blocking, with a deadline: when it passes, the child's whole process group is killed (spawn
// puts the child in its own session) and ETIMEDOUT is returned. Never use it in the daemon.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace drove::process {

struct Captured {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the terminating signal, 0 when it exited
  std::string out;
  std::string err;
};

// argv[0] is searched in env's PATH. stdin_text is written to the child's stdin, then closed.
Result<Captured> run_capture(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                             const std::string& cwd, const std::string& stdin_text, int timeout_ms);

}  // namespace drove::process
