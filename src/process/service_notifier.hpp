// ServiceNotifier: the daemon's side of sd_notify(3) towards its own service manager, when
// systemd runs it as a Type=notify service (`drove startup`): READY=1 once the saved list is
// resurrected, STATUS= lines, WATCHDOG=1 keep-alives when WatchdogSec= is set, STOPPING=1.
// Taken from the environment once (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID), which is then
// cleared so that nothing the daemon starts inherits it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace drove::process {

class ServiceNotifier {
 public:
  // nullopt when no service manager listens (NOTIFY_SOCKET unset); an error when it is set but
  // cannot be used (a relative path, too long).
  static std::optional<Result<ServiceNotifier>> from_environment();
  // Reads the values given, for tests and for from_environment().
  static Result<ServiceNotifier> make(std::string_view socket, std::string_view watchdog_usec,
                                      std::string_view watchdog_pid, pid_t self);

  // Sends one datagram of newline-separated assignments ("READY=1\nSTATUS=...").
  Status send(std::string_view state) const;
  // How often to send WATCHDOG=1 (half of WatchdogSec, as sd_watchdog_enabled(3) advises);
  // nullopt when no watchdog is asked for this process.
  [[nodiscard]] std::optional<std::int64_t> watchdog_period_ms() const { return watchdog_period_ms_; }
  [[nodiscard]] const std::string& socket() const { return socket_; }

 private:
  ServiceNotifier() = default;
  std::string socket_;
  UniqueFd fd_;
  std::optional<std::int64_t> watchdog_period_ms_;
};

}  // namespace drove::process
