#include "cluster/bind_helper.hpp"

#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "base/unix_socket.hpp"
#include "process/fork.hpp"

namespace drove::cluster {
namespace {

struct HelperReport {
  int error = 0;
  int step = 0;
};

// Child side: async-signal-safe. The fd (if any) rides on the report as SCM_RIGHTS.
void send_report(int channel, SocketOutcome outcome, int fd) {
  const HelperReport report{outcome.error, static_cast<int>(outcome.step)};
  (void)send_with_fd(channel, &report, sizeof report, fd);
}

enum class HelperTask { open, unlink };

[[noreturn]] void run_child(int channel, const SocketPlan& plan, const BindIdentity& as, HelperTask task) {
  SocketOutcome outcome;
  // Groups before the user: once the uid is dropped, setgroups/setgid are refused.
  if (as.gid) {
    const gid_t primary = *as.gid;
    const bool own_list = !as.groups.empty();
    if (::setgroups(own_list ? as.groups.size() : 1, own_list ? as.groups.data() : &primary) != 0 ||
        ::setgid(primary) != 0) {
      outcome = {errno, SocketStep::identity};
    }
  }
  if (outcome.error == 0 && as.uid && ::setuid(*as.uid) != 0) outcome = {errno, SocketStep::identity};
  // bind() creates the socket file with 0777 & ~umask: the mode is right from its first instant.
  if (outcome.error == 0 && plan.has_mode) ::umask(static_cast<mode_t>(~plan.mode & 0777));
  int fd = -1;
  if (outcome.error == 0) outcome = task == HelperTask::open ? create_socket(plan, &fd) : remove_socket_file(plan);
  send_report(channel, outcome, fd);
  ::_exit(0);
}

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Runs `task` in a helper child; the fd it sent (invalid for unlink).
Result<UniqueFd> run_helper(const SocketPlan& plan, const BindIdentity& as, const std::string& label, HelperTask task) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return last_error("socketpair for " + label);
  }
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);

  // Signals stay blocked in the child for its whole (short) life: none of the daemon's handlers
  // may run there. SIGKILL still ends it on timeout.
  const pid_t pid = process::fork_signals_blocked([&] { run_child(theirs.get(), plan, as, task); });
  if (pid < 0) return last_error("fork a bind helper for " + label);
  theirs.reset();

  pollfd waiting{ours.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&waiting, 1, kBindHelperTimeoutMs);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) {
    ::kill(pid, SIGKILL);  // our own unreaped child: the pid cannot have been recycled
    reap(pid);
    return SysError{ready == 0 ? ETIMEDOUT : errno, "bind helper for " + label};
  }

  HelperReport report{};
  iovec iov{&report, sizeof report};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(ours.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  const int recv_errno = errno;
  UniqueFd received;
  if (n > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
        received.reset(fd);
      }
    }
  }
  reap(pid);
  if (n < 0) return SysError{recv_errno, "bind helper for " + label};
  if (n != static_cast<ssize_t>(sizeof report))
    return SysError{EIO, "bind helper for " + label + " exited without a report"};
  if (report.error != 0) {
    return SysError{report.error, std::string(step_name(static_cast<SocketStep>(report.step))) + " " + label};
  }
  if (!received && task == HelperTask::open) return SysError{EIO, "bind helper for " + label + " sent no socket"};
  return received;
}

}  // namespace

Result<UniqueFd> open_in_helper(const SocketPlan& plan, const BindIdentity& as, const std::string& label) {
  return run_helper(plan, as, label, HelperTask::open);
}

Status unlink_in_helper(const SocketPlan& plan, const BindIdentity& as, const std::string& label) {
  auto done = run_helper(plan, as, label, HelperTask::unlink);
  if (!done) return done.error();
  return Ok{};
}

}  // namespace drove::cluster
