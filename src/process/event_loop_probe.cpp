// Reads where a process's main thread waits (see event_loop_probe.hpp).
#include "process/event_loop_probe.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "base/unique_fd.hpp"

namespace drove::process {
namespace {

// The file's text, or nothing when it cannot be read (a few hundred bytes at most).
std::optional<std::string> read_small(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char buf[512];
  ssize_t n;
  do n = ::read(fd.get(), buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

bool is_epoll_wait(long nr) {
#ifdef SYS_epoll_wait
  if (nr == SYS_epoll_wait) return true;
#endif
#ifdef SYS_epoll_pwait
  if (nr == SYS_epoll_pwait) return true;
#endif
#ifdef SYS_epoll_pwait2
  if (nr == SYS_epoll_pwait2) return true;
#else
  if (nr == 441) return true;  // epoll_pwait2 has the same number on every architecture
#endif
  return false;
}

}  // namespace

// "running", "-1 <sp> <pc>" (blocked, not in a syscall) or "<nr> <args...> <sp> <pc>".
MainThreadWait parse_proc_syscall(std::string_view text) {
  if (text.empty()) return MainThreadWait::unknown;
  long nr = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), nr);
  if (ec != std::errc() || end == text.data()) return MainThreadWait::other;
  return is_epoll_wait(nr) ? MainThreadWait::event_loop : MainThreadWait::other;
}

// The kernel function the thread sleeps in: do_epoll_wait / ep_poll; "0" when running or hidden.
MainThreadWait parse_proc_wchan(std::string_view text) {
  if (text.empty() || text == "0") return MainThreadWait::unknown;
  if (text.find("epoll_wait") != std::string_view::npos || text.starts_with("ep_poll"))
    return MainThreadWait::event_loop;
  return MainThreadWait::other;
}

MainThreadWait main_thread_wait(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  if (auto text = read_small(dir + "/syscall")) {
    if (const auto wait = parse_proc_syscall(*text); wait != MainThreadWait::unknown) return wait;
  }
  if (auto text = read_small(dir + "/wchan")) return parse_proc_wchan(*text);
  return MainThreadWait::unknown;
}

}  // namespace drove::process
