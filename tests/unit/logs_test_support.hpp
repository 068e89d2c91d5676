// Test scaffolding for the log engine: a private uv loop, waiting with deadlines, writer
// processes on real pipes, temporary directories.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "process/spawn.hpp"

namespace drove::logs::testing {

class TestLoop {
 public:
  TestLoop() { uv_loop_init(&loop_); }
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;
  ~TestLoop() {
    // Let close callbacks and thread-pool jobs finish, within reason.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (uv_loop_close(&loop_) == UV_EBUSY && std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      ::usleep(1000);
    }
  }
  uv_loop_t* get() { return &loop_; }

  // Runs the loop until `done()` holds or `timeout_ms` passes; returns whether it held.
  bool run_until(const std::function<bool()>& done, int timeout_ms = 20000) {
    auto tick = UvHandle<uv_timer_t>::make();
    uv_timer_init(&loop_, tick.get());
    uv_timer_start(
        tick.get(), [](uv_timer_t*) {}, 5, 5);  // wakes UV_RUN_ONCE to re-check
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
  }

 private:
  uv_loop_t loop_{};
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
inline Pipe make_pipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A `sh -c script` process whose stdout/stderr are pipes (our ends in out/err) and whose stdin
// is a pipe we may write to (or close to end it).
struct Writer {
  pid_t pid = -1;
  UniqueFd out;
  UniqueFd err;
  UniqueFd in;

  Writer() = default;
  Writer(Writer&& other) noexcept
      : pid(std::exchange(other.pid, -1)),
        out(std::move(other.out)),
        err(std::move(other.err)),
        in(std::move(other.in)) {}
  Writer& operator=(Writer&&) = delete;

  [[nodiscard]] bool running() const {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0;
  }
  int wait_exit() {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Writer() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

inline Writer start_writer(const std::string& script) {
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  Pipe in = make_pipe();
  auto pid = process::spawn({.file = "sh",
                             .argv = {"sh", "-c", script},
                             .env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"},
                             .fds = {{0, in.read.get()}, {1, out.write.get()}, {2, err.write.get()}}});
  EXPECT_TRUE(pid.ok()) << pid.error().message();
  Writer writer;
  writer.pid = pid.ok() ? pid.value() : -1;
  writer.out = std::move(out.read);
  writer.err = std::move(err.read);
  writer.in = std::move(in.write);
  return writer;  // our copies of the child's ends close here
}

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/drove-logs-test-XXXXXX";
    EXPECT_NE(::mkdtemp(name), nullptr);
    path_ = name;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace drove::logs::testing
