#include "process/run_capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "base/unique_fd.hpp"
#include "process/spawn.hpp"

namespace drove::process {
namespace {

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return last_error("run_capture: pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// write(2) to a pipe whose reader has gone raises SIGPIPE, which would kill the CLI: block it
// for the call and swallow the one it left pending, so the caller just sees EPIPE.
ssize_t write_without_sigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_only, previous;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  const ssize_t n = ::write(fd, data, size);
  const int saved_errno = errno;
  if (n < 0 && saved_errno == EPIPE) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_only, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = saved_errno;
  return n;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

Result<Captured> run_capture(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                             const std::string& cwd, const std::string& stdin_text, int timeout_ms) {
  auto in = make_pipe();
  if (!in) return in.error();
  auto out = make_pipe();
  if (!out) return out.error();
  auto err = make_pipe();
  if (!err) return err.error();

  SpawnOptions options;
  options.file = argv.empty() ? std::string() : argv.front();
  options.argv = argv;
  for (const auto& [key, value] : env) options.env.push_back(key + "=" + value);
  options.cwd = cwd;
  options.fds = {{0, in->read_end.get()}, {1, out->write_end.get()}, {2, err->write_end.get()}};
  auto pid = spawn(options);
  if (!pid) return pid.error();
  in->read_end.reset();
  out->write_end.reset();
  err->write_end.reset();

  // The child may fill its stdout before reading all of stdin: feed and drain together.
  UniqueFd stdin_fd = std::move(in->write_end);
  ::fcntl(stdin_fd.get(), F_SETFL, O_NONBLOCK);
  if (stdin_text.empty()) stdin_fd.reset();
  size_t written = 0;
  Captured captured;
  UniqueFd readers[2] = {std::move(out->read_end), std::move(err->read_end)};
  std::string* sinks[2] = {&captured.out, &captured.err};

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (readers[0] || readers[1] || stdin_fd) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(-pid.value(), SIGKILL);
      reap(pid.value());
      return SysError{ETIMEDOUT, "run " + argv.front() + ": no result after " + std::to_string(timeout_ms) + " ms"};
    }
    pollfd fds[3];
    nfds_t count = 0;
    for (auto& reader : readers) {
      if (reader) fds[count++] = {reader.get(), POLLIN, 0};
    }
    if (stdin_fd) fds[count++] = {stdin_fd.get(), POLLOUT, 0};
    const int ready = ::poll(fds, count, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return last_error("run_capture: poll");
    if (ready <= 0) continue;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (stdin_fd && fds[i].fd == stdin_fd.get()) {
        const ssize_t n =
            write_without_sigpipe(stdin_fd.get(), stdin_text.data() + written, stdin_text.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size()) {
          stdin_fd.reset();  // done, or the child closed its stdin (EPIPE): stop feeding
        }
        continue;
      }
      for (int r = 0; r < 2; ++r) {
        if (!readers[r] || fds[i].fd != readers[r].get()) continue;
        char buffer[16384];
        const ssize_t n = ::read(readers[r].get(), buffer, sizeof buffer);
        if (n > 0)
          sinks[r]->append(buffer, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR)
          readers[r].reset();
      }
    }
  }

  const int status = reap(pid.value());
  if (WIFEXITED(status)) captured.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) captured.signal = WTERMSIG(status);
  return captured;
}

}  // namespace drove::process
