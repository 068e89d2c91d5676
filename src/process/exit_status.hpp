// How a process ended, decoded from a wait status.
#pragma once

#include <string>

namespace drove::process {

struct ExitStatus {
  int code = -1;   // exit code, or -1 when killed by a signal
  int signal = 0;  // terminating signal, 0 when it exited

  static ExitStatus from_wait_status(int status);
  [[nodiscard]] bool killed_by_signal() const { return signal != 0; }
  // The process ended and nobody could read how: it was not our child and its parent, which
  // reaped it, can no longer tell us (the keeper died before it).
  [[nodiscard]] bool unknown() const { return code < 0 && signal == 0; }
  [[nodiscard]] std::string describe() const;  // "exit code 1" / "signal SIGKILL"
};

// "SIGTERM" → 15; accepts "TERM", "sigterm" and numbers. Returns 0 when unknown.
int signal_from_name(const std::string& name);
std::string signal_name(int signal);

}  // namespace drove::process
