#include "process/service_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace drove::process {

namespace {

std::optional<std::int64_t> parse_positive(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

std::string_view env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string_view(value) : std::string_view();
}

}  // namespace

Result<ServiceNotifier> ServiceNotifier::make(std::string_view socket, std::string_view watchdog_usec,
                                              std::string_view watchdog_pid, pid_t self) {
  if (socket.empty() || (socket[0] != '/' && socket[0] != '@'))
    return SysError{EINVAL, "NOTIFY_SOCKET must be an absolute path or an abstract name (@...)"};
  if (socket.size() >= sizeof(sockaddr_un{}.sun_path)) return SysError{ENAMETOOLONG, "NOTIFY_SOCKET"};
  ServiceNotifier n;
  n.socket_ = std::string(socket);
  n.fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!n.fd_) return last_error("socket for NOTIFY_SOCKET");
  // WATCHDOG_PID, when given, names the process the watchdog is for (sd_watchdog_enabled(3)).
  const auto for_pid = parse_positive(watchdog_pid);
  const bool ours = watchdog_pid.empty() || (for_pid && *for_pid == self);
  if (auto usec = parse_positive(watchdog_usec); usec && ours)
    n.watchdog_period_ms_ = std::max<std::int64_t>(1, *usec / 2000);
  return n;
}

std::optional<Result<ServiceNotifier>> ServiceNotifier::from_environment() {
  const std::string socket(env_or_empty("NOTIFY_SOCKET"));
  if (socket.empty()) return std::nullopt;
  auto notifier = make(socket, env_or_empty("WATCHDOG_USEC"), env_or_empty("WATCHDOG_PID"), ::getpid());
  for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) ::unsetenv(name);
  return notifier;
}

Status ServiceNotifier::send(std::string_view state) const {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + socket_.size();
  if (socket_[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace: no terminating NUL counted
  } else {
    ++len;
  }
  for (;;) {
    if (::sendto(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len) >= 0)
      return Ok{};
    if (errno != EINTR) return last_error("sd_notify to " + socket_);
  }
}

}  // namespace drove::process
