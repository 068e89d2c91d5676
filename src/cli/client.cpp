#include "cli/client.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "base/clock.hpp"
#include "base/unix_socket.hpp"
#include "process/spawn.hpp"
#include "state/home.hpp"

extern char** environ;

namespace drove::cli {
namespace {

constexpr std::int64_t kDaemonStartTimeoutMs = 10000;

UniqueFd try_connect(const std::string& path) {
  if (!path_fits_unix_socket(path)) throw UserError("DROVE_HOME path is too long for a unix socket: " + path);
  return connect_unix(path);
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw UserError("cannot find the drove executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

std::string last_lines(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += lines[i] + (i + 1 < lines.size() ? "\n" : "");
  return out;
}

// Starts a daemon and waits until its socket answers.
UniqueFd start_daemon(const HomeLayout& home) {
  UniqueFd log(::open(home.daemon_log().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!log) throw UserError("cannot write " + home.daemon_log() + ": " + std::strerror(errno));
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  const std::string exe = self_executable();
  auto pid = process::spawn({.file = exe,
                             .argv = {exe, "daemon", "--background"},
                             .env = env,
                             .fds = {{1, log.get()}, {2, log.get()}},
                             .new_session = true});
  if (!pid.ok()) throw UserError("cannot start the drove daemon: " + pid.error().message());
  const std::int64_t deadline = monotonic_ms() + kDaemonStartTimeoutMs;
  bool exited = false;
  int status = 0;
  while (monotonic_ms() < deadline) {
    if (UniqueFd fd = try_connect(home.socket())) return fd;
    if (!exited && ::waitpid(pid.value(), &status, WNOHANG) == pid.value()) {
      exited = true;
      // Exit 0 means another daemon won the race: keep waiting for its socket.
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw UserError("the drove daemon failed to start: " + last_lines(home.daemon_log(), 1));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw UserError("the drove daemon did not answer within 10 s (see " + home.daemon_log() + ")");
}

}  // namespace

std::optional<Client> Client::connect_if_running(const HomeLayout& home) {
  if (UniqueFd fd = try_connect(home.socket())) return Client(std::move(fd));
  return std::nullopt;
}

Client Client::connect(const HomeLayout& home, bool start) {
  if (UniqueFd fd = try_connect(home.socket())) return Client(std::move(fd));
  if (!start) throw UserError("no drove daemon is running");
  if (auto s = state::prepare_home(home); !s.ok()) throw UserError("cannot use DROVE_HOME: " + s.error().message());
  UniqueFd lock(::open(home.spawn_lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) throw UserError("cannot open " + home.spawn_lock() + ": " + std::strerror(errno));
  while (::flock(lock.get(), LOCK_EX) != 0 && errno == EINTR) {
  }
  // Another CLI may have started it while we waited for the lock.
  if (UniqueFd fd = try_connect(home.socket())) return Client(std::move(fd));
  return Client(start_daemon(home));
}

std::optional<std::string> Client::read_line() {
  // Search only bytes not searched before: a reply of many megabytes (jlist) arrives in 64 KiB
  // reads, and rescanning from the start each time was quadratic.
  for (size_t scanned = 0;;) {
    if (auto nl = buffer_.find('\n', scanned); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    scanned = buffer_.size();
    char chunk[65536];
    const ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      lost_reason_ = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) return std::nullopt;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

nlohmann::json Client::call(const std::string& method, const nlohmann::json& params) {
  const long id = send(method, params);
  for (;;) {
    auto reply_line = read_line();
    if (!reply_line) {
      throw UserError("the drove daemon closed the connection during '" + method + "'" +
                      (lost_reason_.empty() ? std::string() : ": " + lost_reason_));
    }
    auto reply = nlohmann::json::parse(*reply_line, nullptr, false);
    if (!reply.is_object()) continue;
    const auto reply_id = reply.find("id");
    // An error without an id is about the connection itself (a line it could not read).
    if (reply_id != reply.end() && reply_id->is_null() && reply.contains("error") && reply["error"].is_object()) {
      throw UserError(reply["error"].value("message", std::string("the daemon refused the request")));
    }
    if (reply_id == reply.end() || *reply_id != id) continue;  // an event, or noise
    if (!version_checked_) {
      version_checked_ = true;
      daemon_version_ = reply.value("version", "");
      if (daemon_version_ != DROVE_VERSION) {
        std::fprintf(stderr,
                     "[drove] the running daemon is version %s, this CLI is %s: `drove update` hands the apps to "
                     "this binary's daemon\n",
                     daemon_version_.c_str(), DROVE_VERSION);
      }
    }
    if (reply.contains("error")) {
      const auto& e = reply["error"];
      throw UserError(e.value("message", "unknown error"));
    }
    return reply.value("result", nlohmann::json());
  }
}

long Client::send(const std::string& method, const nlohmann::json& params) {
  const long id = next_id_++;
  std::string line =
      nlohmann::json{{"id", id}, {"method", method}, {"params", params}, {"version", DROVE_VERSION}}.dump();
  line.push_back('\n');
  for (size_t off = 0; off < line.size();) {
    // MSG_NOSIGNAL: a daemon that hung up is an error to report, not a silent SIGPIPE death.
    const ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw UserError(std::string("lost the connection to the drove daemon while sending '") + method +
                      "': " + std::strerror(n < 0 ? errno : EPIPE));
    }
    off += static_cast<size_t>(n);
  }
  return id;
}

std::optional<nlohmann::json> Client::poll_message() {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      auto message = nlohmann::json::parse(std::string_view(buffer_).substr(0, nl), nullptr, false);
      buffer_.erase(0, nl + 1);
      return message;
    }
    if (eof_) return std::nullopt;
    char chunk[65536];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
    if (n <= 0) {
      eof_ = true;
      return std::nullopt;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<nlohmann::json> Client::next_message() {
  auto line = read_line();
  if (!line) return std::nullopt;
  return nlohmann::json::parse(*line, nullptr, false);
}

}  // namespace drove::cli
