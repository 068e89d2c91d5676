// The bind helper: opens a socket with an app's rights instead of the daemon's. A short-lived
// child of the daemon drops to the app's groups and user, sets the umask that gives a unix socket
// its mode, removes a stale socket, binds, listens, hands the fd back over a socketpair
// (SCM_RIGHTS) and exits. The kernel then checks every path lookup, unlink and port number as
// it would for the app itself, and a unix socket file is born with its final mode and owner, so
// there is no window in which a swapped path could make root chmod or unlink someone else's
// file. systemd's socket units (src/core/socket.c, SocketUser=/SocketMode=) work the same way.
// Why this and not fchmod/setfsuid: docs/security.md.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "cluster/socket_plan.hpp"

namespace drove::cluster {

// Whose rights a socket is opened with. Empty: the daemon's own (the app runs as the daemon's
// user), and everything happens in-process.
struct BindIdentity {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;            // supplementary groups, set with gid
  bool allow_privileged_ports = false;  // ports < 1024 bound with the daemon's rights

  [[nodiscard]] bool differs() const { return uid.has_value() || gid.has_value(); }
};

// How long the daemon waits for a helper (it makes a handful of non-blocking system calls;
// a child that is still busy after this is killed and the bind fails with ETIMEDOUT).
inline constexpr int kBindHelperTimeoutMs = 2000;

// Opens `plan` in a helper child running as `as` (with plan.mode through its umask). Blocks the
// caller for the child's lifetime (about a millisecond: one fork, a few system calls).
// `label` names the address in errors ("bind /run/app.sock: Permission denied").
Result<UniqueFd> open_in_helper(const SocketPlan& plan, const BindIdentity& as, const std::string& label);

// remove_socket_file(plan) in a helper child running as `as`.
Status unlink_in_helper(const SocketPlan& plan, const BindIdentity& as, const std::string& label);

}  // namespace drove::cluster
