// SocketPlan: everything needed to open one listening/bound socket, computed up front, and
// create_socket(), which carries it out with system calls only. The split exists for the bind
// helper (bind_helper.hpp): a forked child that has dropped to an app's user may not allocate,
// so it gets a finished plan and reports a bare errno and the step that failed.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

namespace drove::cluster {

enum class SocketStep : int { none = 0, socket, option, bind, listen, unlink, identity, hand_over };

// "bind", "listen", ... (for the message the parent composes; never called in a child).
const char* step_name(SocketStep step);

struct SocketPlan {
  sockaddr_storage address{};
  socklen_t address_length = 0;
  int family = 0;          // AF_INET, AF_INET6, AF_UNIX
  int type = SOCK_STREAM;  // SOCK_STREAM or SOCK_DGRAM, without flags
  bool nonblocking = true;
  bool reuse_address = false;  // SO_REUSEADDR
  bool reuse_port = false;     // SO_REUSEPORT
  bool ipv6_only = false;      // IPV6_V6ONLY (set explicitly on every IPv6 socket)
  bool listen = true;          // listen() after bind (not for UDP)
  int backlog = 511;
  // unix path only: a dead socket left at the path is removed first; `mode` (when set) is the
  // mode the socket file is created with, through the umask of the process that binds.
  bool remove_stale = false;
  bool has_mode = false;
  mode_t mode = 0;

  [[nodiscard]] bool is_unix() const { return family == AF_UNIX; }
  [[nodiscard]] const char* unix_path() const;
};

struct SocketOutcome {
  int error = 0;  // errno, 0 on success
  SocketStep step = SocketStep::none;
};

// Async-signal-safe (system calls only, no allocation): usable between fork and _exit. On
// success *fd_out owns a new close-on-exec socket; on failure nothing is left open. The mode of
// a unix socket is NOT applied here: the caller sets the umask (a forked child may; the daemon
// may not, other threads create files) -- see docs/security.md.
SocketOutcome create_socket(const SocketPlan& plan, int* fd_out);

// Async-signal-safe: unlinks the plan's unix path if a socket file is there (a closed server's
// leftover, as libuv removes it); anything else at the path is left alone.
SocketOutcome remove_socket_file(const SocketPlan& plan);

// A plan for a unix path (no bind options): for remove_socket_file. EINVAL/ENAMETOOLONG when
// the path does not fit sockaddr_un.
int unix_plan(const char* path, std::size_t length, SocketPlan& plan);

}  // namespace drove::cluster
