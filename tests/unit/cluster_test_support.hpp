// Test support for the ipc_/cluster_ tests: a libuv loop driven until a condition holds (with a
// deadline), real node children on an IPC channel, and a blocking HTTP/TCP client for load run
// from another thread while the loop serves.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/unique_fd.hpp"
#include "ipc/channel.hpp"
#include "process/spawn.hpp"

namespace drove::testing {

inline std::string fixture(const std::string& name) { return std::string(DROVE_FIXTURES_DIR) + "/cluster/" + name; }

class TestLoop {
 public:
  TestLoop() { uv_loop_init(&loop_); }
  ~TestLoop() {
    // Close whatever is left (handles whose owners are gone are already closing).
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  uv_loop_t* get() { return &loop_; }

  // Runs the loop until `done()` is true or `timeout_ms` passed; returns done().
  bool run_until(const std::function<bool()>& done, std::int64_t timeout_ms = 10000) {
    uv_timer_t wake;
    uv_timer_init(&loop_, &wake);
    uv_timer_start(
        &wake, [](uv_timer_t*) {}, 5, 5);  // wakes the loop to re-check done()
    const std::int64_t deadline = monotonic_ms() + timeout_ms;
    bool ok = done();
    while (!ok && monotonic_ms() < deadline) {
      uv_run(&loop_, UV_RUN_ONCE);
      ok = done();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);  // completes the close of `wake`
    return ok;
  }

 private:
  uv_loop_t loop_{};
};

// A node process with the channel on fd 3; killed (SIGKILL) and reaped by the destructor.
struct NodeChild {
  pid_t pid = -1;
  std::unique_ptr<ipc::Channel> channel;
  std::vector<nlohmann::json> messages;  // user messages (not consumed by `intercept`)
  std::vector<UniqueFd> handles;         // fds that came with user messages
  bool closed = false;
  int exit_code = -1;                                               // set by reap()
  std::function<bool(const nlohmann::json&, UniqueFd&)> intercept;  // true: consumed
  std::function<void()> on_closed;

  ~NodeChild() {
    channel.reset();
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      reap();
    }
  }
  void reap() {
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid) {
      exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    pid = -1;
  }
  bool has_message(const std::function<bool(const nlohmann::json&)>& pred) const {
    for (const auto& m : messages)
      if (pred(m)) return true;
    return false;
  }
};

inline std::unique_ptr<NodeChild> start_node(uv_loop_t* loop, const std::string& script,
                                             std::map<std::string, std::string> env) {
  auto child = std::make_unique<NodeChild>();
  auto pair = ipc::Channel::make_pair();
  EXPECT_TRUE(pair.ok());
  if (!pair.ok()) return nullptr;
  std::vector<std::string> envv = {"PATH=/usr/local/bin:/usr/bin:/bin", "NODE_CHANNEL_FD=3"};
  for (const auto& [k, v] : env) envv.push_back(k + "=" + v);
  auto pid = process::spawn({.file = "/usr/bin/node",
                             .argv = {"node", script},
                             .env = envv,
                             .fds = {{1, 1}, {2, 2}, {3, pair->second.get()}}});
  EXPECT_TRUE(pid.ok()) << pid.error().message();
  if (!pid.ok()) return nullptr;
  child->pid = pid.value();
  pair->second.reset();
  NodeChild* raw = child.get();
  auto channel = ipc::Channel::open(loop, std::move(pair->first),
                                    {.on_message =
                                         [raw](nlohmann::json msg, UniqueFd fd) {
                                           if (raw->intercept && raw->intercept(msg, fd)) return;
                                           raw->messages.push_back(std::move(msg));
                                           if (fd) raw->handles.push_back(std::move(fd));
                                         },
                                     .on_close =
                                         [raw](int) {
                                           raw->closed = true;
                                           if (raw->on_closed) raw->on_closed();
                                         }});
  EXPECT_TRUE(channel.ok());
  if (!channel.ok()) return nullptr;
  child->channel = std::move(channel.value());
  return child;
}

// One connection: connect, send, read to EOF. error = errno of the failing step (0 = ok).
struct Exchange {
  int error = 0;
  std::string reply;
};

inline Exchange exchange(const sockaddr* addr, socklen_t len, const std::string& request) {
  Exchange r;
  UniqueFd fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), addr, len) != 0) {
    // A signal (a worker's SIGCHLD) interrupted it: with a send timeout set, Linux does not
    // restart connect(), which goes on in the background. Wait for its outcome.
    if (errno != EINTR) {
      r.error = errno;
      return r;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int ready = 0;
    while ((ready = ::poll(&p, 1, 5000)) < 0 && errno == EINTR) {
    }
    int so_error = ready == 1 ? 0 : ETIMEDOUT;
    socklen_t so_len = sizeof so_error;
    if (ready == 1) ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &so_len);
    if (so_error != 0) {
      r.error = so_error;
      return r;
    }
  }
  ssize_t sent = 0;
  while (!request.empty() && (sent = ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL)) < 0 &&
         errno == EINTR) {
  }
  if (sent < 0) {
    r.error = errno;
    return r;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = errno;
      break;
    }
    r.reply.append(buf, static_cast<std::size_t>(n));
  }
  return r;
}

inline Exchange tcp_exchange(int port, const std::string& request, const char* ip = "127.0.0.1") {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return exchange(reinterpret_cast<sockaddr*>(&a), sizeof a, request);
}

inline const std::string kHttpGet = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

// The pid in "hello <pid>" at the end of an HTTP reply; -1 when absent.
inline int hello_pid(const std::string& reply) {
  const auto at = reply.rfind("hello ");
  if (at == std::string::npos) return -1;
  return std::atoi(reply.c_str() + at + 6);
}

// A free TCP port on 127.0.0.1 (bound then released; good enough for tests on one host).
inline int free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

}  // namespace drove::testing
