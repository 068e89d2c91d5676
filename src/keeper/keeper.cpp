#include "keeper/keeper.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include "base/log.hpp"
#include "base/unix_socket.hpp"
#include "keeper/protocol.hpp"

namespace drove::keeper {
namespace {

constexpr std::size_t kMaxQueuedExits = 65536;  // app exits kept while no daemon listens

std::int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

class Keeper {
 public:
  explicit Keeper(const Options& options) : options_(options) {}

  int run() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&mask, sig);
    ::sigprocmask(SIG_BLOCK, &mask, &saved_mask_);
    ::signal(SIGPIPE, SIG_IGN);
    signals_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_) {
      log_error("keeper: signalfd: {}", std::strerror(errno));
      return 1;
    }
    if (!options_.lock_path.empty()) {
      lock_.reset(::open(options_.lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!lock_) {
        log_error("keeper: open {}: {}", options_.lock_path, std::strerror(errno));
        return 1;
      }
      if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) return 0;  // another keeper serves this home
    }
    if (!start_daemon()) return 1;
    while (!done_) {
      pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {link_.get(), POLLIN, 0}};
      const nfds_t count = link_ ? 2 : 1;
      int timeout = -1;
      if (restart_at_ms_ != 0) timeout = static_cast<int>(std::max<std::int64_t>(0, restart_at_ms_ - now_ms()));
      const int n = ::poll(fds, count, timeout);
      if (n < 0 && errno != EINTR) {
        log_error("keeper: poll: {}", std::strerror(errno));
        return 1;
      }
      if (count == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_link();
      if ((fds[0].revents & POLLIN) != 0) on_signals();
      if (!done_ && restart_at_ms_ != 0 && now_ms() >= restart_at_ms_) {
        restart_at_ms_ = 0;
        if (!start_daemon()) return 1;
      }
    }
    return status_;
  }

 private:
  struct Held {
    UniqueFd fd;
    std::int64_t pid = 0;
    std::int64_t start = 0;
  };

  bool start_daemon() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      log_error("keeper: socketpair: {}", std::strerror(errno));
      return false;
    }
    UniqueFd ours(pair[0]), theirs(pair[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
      log_error("keeper: fork: {}", std::strerror(errno));
      return false;
    }
    if (pid == 0) {
      ::sigprocmask(SIG_SETMASK, &saved_mask_, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      // Tells the daemon to take over what its predecessor left (a first start does not).
      if (starts_ > 0) ::setenv("DROVE_KEEPER_RESTART", "1", 1);
      if (::dup2(theirs.get(), kDaemonFd) < 0) ::_exit(127);
      std::vector<char*> argv;
      for (const auto& arg : options_.argv) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(options_.exe.c_str(), argv.data());
      ::_exit(127);
    }
    daemon_pid_ = pid;
    ready_ = false;
    ++starts_;
    bye_ = false;
    theirs.reset();
    link_ = std::move(ours);
    // Everything held goes back first, then what happened while no daemon listened. The sends
    // block until the daemon reads (it does so before anything else); a daemon that dies
    // meanwhile makes them fail, and its exit is handled as any other.
    std::int64_t sent = 0;
    for (const auto& [token, held] : held_) {
      if (!send_record(link_.get(), {.op = Op::held, .token = token, .a = held.pid, .b = held.start}, held.fd.get()))
        return true;
      ++sent;
    }
    if (!send_record(link_.get(), {.op = Op::held_end, .a = sent})) return true;
    while (!exits_.empty()) {
      if (!send_record(link_.get(), exits_.front())) return true;
      exits_.pop_front();
    }
    return true;
  }

  void read_link() {
    for (;;) {
      Record record;
      UniqueFd fd;
      switch (receive_record(link_.get(), record, fd, /*nonblocking=*/true)) {
        case Received::again:
          return;
        case Received::eof:
          link_.reset();  // the daemon is going; its exit (SIGCHLD) decides what follows
          return;
        case Received::bad:
          log_error("keeper: a malformed record from the daemon: the link is closed");
          link_.reset();
          return;
        case Received::record:
          break;
      }
      switch (record.op) {
        case Op::hold:
          if (fd) held_[record.token] = Held{std::move(fd), record.a, record.b};
          break;
        case Op::drop:
          held_.erase(record.token);
          break;
        case Op::bye:
          bye_ = true;
          break;
        case Op::ready:
          ready_ = true;
          fast_crashes_ = 0;
          break;
        default:
          break;  // not for the keeper: ignored
      }
    }
  }

  void on_signals() {
    signalfd_siginfo info{};
    while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
      } else if (daemon_pid_ > 0) {
        if (sig == SIGTERM || sig == SIGINT) terminating_ = true;
        ::kill(daemon_pid_, sig);  // our child, not yet reaped: the pid is still its
      } else if (sig == SIGTERM || sig == SIGINT) {
        finish(0, "asked to stop while no daemon ran");
      }
      if (done_) return;
    }
  }

  void reap() {
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      if (pid == daemon_pid_) {
        on_daemon_exit(status);
        continue;
      }
      const Record exited{.op = Op::exited, .token = 0, .a = pid, .b = status};
      if (link_ && send_record(link_.get(), exited)) continue;
      if (exits_.size() == kMaxQueuedExits) exits_.pop_front();
      exits_.push_back(exited);
    }
  }

  void on_daemon_exit(int status) {
    daemon_pid_ = 0;
    if (link_) read_link();  // a `bye` or a last `hold` sent just before it exited
    link_.reset();
    const bool crashed = WIFSIGNALED(status) && !bye_ && !terminating_;
    const bool hand_over = WIFEXITED(status) && WEXITSTATUS(status) == kHandOverStatus && !bye_;
    if (!crashed && !hand_over) {
      finish(WIFEXITED(status) ? WEXITSTATUS(status) : 1, "");
      return;
    }
    if (hand_over) {
      log_info("keeper: the daemon handed over; starting {} with {} held descriptor(s)", options_.exe, held_.size());
      fast_crashes_ = 0;
      restart_at_ms_ = now_ms();
      return;
    }
    fast_crashes_ = ready_ ? 0 : fast_crashes_ + 1;
    if (fast_crashes_ > options_.max_fast_crashes) {
      finish(1, fmt::format("the daemon {} before serving, {} times in a row: giving up", describe_status(status),
                            fast_crashes_));
      return;
    }
    const std::int64_t delay = fast_crashes_ <= 2 ? 0 : std::min<std::int64_t>(100LL << (fast_crashes_ - 3), 5000);
    log_warn("keeper: the daemon {}; starting it again{} with {} held descriptor(s)", describe_status(status),
             delay ? fmt::format(" in {} ms", delay) : "", held_.size());
    restart_at_ms_ = now_ms() + delay;
  }

  void finish(int status, const std::string& why) {
    if (!why.empty()) log_error("keeper: {}", why);
    held_.clear();
    status_ = status;
    done_ = true;
  }

  const Options& options_;
  sigset_t saved_mask_{};
  UniqueFd signals_;
  UniqueFd link_;
  pid_t daemon_pid_ = 0;
  std::int64_t restart_at_ms_ = 0;
  int fast_crashes_ = 0;
  int starts_ = 0;
  bool ready_ = false;
  UniqueFd lock_;
  bool bye_ = false;
  bool terminating_ = false;
  bool done_ = false;
  int status_ = 0;
  std::map<std::uint64_t, Held> held_;
  std::deque<Record> exits_;
};

}  // namespace

bool send_record(int sock, const Record& record, int fd) {
  for (;;) {
    const ssize_t n = send_with_fd(sock, &record, sizeof record, fd);
    if (n == static_cast<ssize_t>(sizeof record)) return true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{sock, POLLOUT, 0};
      (void)::poll(&p, 1, -1);
      continue;
    }
    return false;
  }
}

Received receive_record(int sock, Record& record, UniqueFd& fd, bool nonblocking) {
  iovec iov{&record, sizeof record};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = 0;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? Received::again : Received::eof;
  if (n == 0) return Received::eof;
  int fds_received = 0;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(cmsg) + i * sizeof(int), sizeof received);
      if (fds_received++ == 0)
        fd.reset(received);
      else
        ::close(received);
    }
  }
  if (n != static_cast<ssize_t>(sizeof record) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
      record.magic != kMagic || record.protocol != kProtocol || fds_received > 1) {
    fd.reset();
    return Received::bad;
  }
  return Received::record;
}

int run(const Options& options) { return Keeper(options).run(); }

}  // namespace drove::keeper
