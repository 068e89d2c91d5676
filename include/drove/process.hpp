// drove/process.hpp — Node's child_process for C++: spawn, exec, exec_file, fork, and the
// blocking exec_sync / exec_file_sync.
//
// Every child is started by the engine's spawn() (fork/exec with an error pipe: a missing
// program is an ENOENT Result, never an exit code 127) and reaped by the EventLoop's reaper.
// Children are never killed implicitly; a Child is a handle, and dropping it loses nothing:
// the loop keeps the process's state and callbacks until it has exited and its pipes closed.
//
// A forked child has a Node-compatible IPC channel on fd 3 (NODE_CHANNEL_FD=3, json
// serialization): a Node script talks with process.send / process.on('message'), a C++ program
// with drove::Channel::from_parent().
#pragma once

#include <sys/types.h>

#include <array>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drove/channel.hpp"
#include "drove/event_loop.hpp"
#include "drove/result.hpp"
#include "drove/unique_fd.hpp"

namespace drove {

// What one of the child's standard streams is connected to.
struct Stdio {
  enum class Kind { pipe, inherit, ignore, fd };
  Kind kind = Kind::pipe;
  int fd = -1;  // Kind::fd: a descriptor of this process (stays open here)

  static Stdio pipe() { return {Kind::pipe, -1}; }
  static Stdio inherit() { return {Kind::inherit, -1}; }
  static Stdio ignore() { return {Kind::ignore, -1}; }
  static Stdio from_fd(int descriptor) { return {Kind::fd, descriptor}; }
};

using Environment = std::map<std::string, std::string>;

// The environment of this process, as a map.
Environment current_environment();

struct SpawnOptions {
  std::optional<Environment> env;  // the child's whole environment; nullopt: this process's
  std::string cwd;                 // empty: this process's
  std::array<Stdio, 3> stdio = {Stdio::pipe(), Stdio::pipe(), Stdio::pipe()};
  // true: the child gets its own session and process group (setsid), as Node's `detached`;
  // a terminal's Ctrl-C then no longer reaches it, and kill(-pid) reaches its whole tree.
  bool detached = false;
  std::optional<uid_t> uid;  // needs privileges
  std::optional<gid_t> gid;
};

struct ExitInfo {
  int code = -1;   // exit code, -1 when killed by a signal
  int signal = 0;  // terminating signal, 0 when it exited
  [[nodiscard]] bool success() const { return code == 0 && signal == 0; }
};

// A running (or finished) child process. Move-only handle; callbacks run on the loop.
class Child {
 public:
  Child();
  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  ~Child();  // the process and its callbacks live on (the loop keeps them)

  [[nodiscard]] pid_t pid() const;
  [[nodiscard]] bool running() const;  // not exited yet
  [[nodiscard]] std::optional<ExitInfo> exit_info() const;

  // Output of Stdio::pipe streams, chunk by chunk as it arrives (not line-framed).
  void on_stdout(std::function<void(std::string_view)> fn);
  void on_stderr(std::function<void(std::string_view)> fn);
  // The process ended (Node's 'exit'). Called at most once; at once if it already ended.
  void on_exit(std::function<void(ExitInfo)> fn);
  // The process ended and its pipes and channel are closed (Node's 'close').
  void on_close(std::function<void(ExitInfo)> fn);

  // Writes to the child's stdin pipe (Stdio::pipe only); end_stdin() closes it after the queue.
  Status write_stdin(std::string data);
  void end_stdin();

  // Signals the child (not after it was reaped, so a recycled pid is never hit).
  Status kill(int signal = SIGTERM);

  // Forked children only: the IPC channel (messages, fds, disconnect).
  [[nodiscard]] bool connected() const;
  Status send(const nlohmann::json& message);
  Status send(const nlohmann::json& message, UniqueFd fd, HandleType type = HandleType::automatic);
  void on_message(Channel::MessageFn fn);
  void on_disconnect(std::function<void()> fn);
  void disconnect();
  // The channel itself (nullptr when not forked).
  [[nodiscard]] Channel* channel();

  struct State;  // internal

 private:
  friend struct ChildAccess;
  std::shared_ptr<State> state_;
};

// Starts `file` (searched in PATH when it has no '/') with `args` (argv[0] excluded).
Result<Child> spawn(EventLoop& loop, const std::string& file, const std::vector<std::string>& args = {},
                    SpawnOptions options = {});

struct ForkOptions {
  SpawnOptions spawn = {{}, {}, {Stdio::inherit(), Stdio::inherit(), Stdio::inherit()}};
  // The program that runs `module`: empty means "node" for a .js/.mjs/.cjs module, and the
  // module itself (an executable) otherwise. Node's execPath / execArgv.
  std::string exec_path;
  std::vector<std::string> exec_args;
};

// Starts `module` with an IPC channel on fd 3 (Node's child_process.fork).
Result<Child> fork(EventLoop& loop, const std::string& module, const std::vector<std::string>& args = {},
                   ForkOptions options = {});

struct ExecOptions {
  std::optional<Environment> env;
  std::string cwd;
  std::int64_t timeout_ms = 0;           // 0: none; then kill_signal, error ETIMEDOUT
  std::size_t max_buffer = 1024 * 1024;  // per stream; beyond it: kill, error ENOBUFS
  int kill_signal = SIGTERM;
  std::string shell = "/bin/sh";  // exec() only: runs `shell -c command`
};

struct ExecResult {
  ExitInfo exit;
  std::string out;
  std::string err;
  std::optional<SysError> error;  // ETIMEDOUT, ENOBUFS (max_buffer), or nullopt
  [[nodiscard]] bool success() const { return !error && exit.success(); }
};

using ExecCallback = std::function<void(ExecResult)>;

// Runs `command` through the shell and calls `done` with its output once it has closed.
Result<Child> exec(EventLoop& loop, const std::string& command, ExecCallback done, ExecOptions options = {});
// Runs `file` with `args` (no shell) and calls `done` with its output once it has closed.
Result<Child> exec_file(EventLoop& loop, const std::string& file, const std::vector<std::string>& args,
                        ExecCallback done, ExecOptions options = {});

// Blocking versions: no EventLoop needed. Do not call them from a loop callback.
Result<ExecResult> exec_sync(const std::string& command, const ExecOptions& options = {});
Result<ExecResult> exec_file_sync(const std::string& file, const std::vector<std::string>& args,
                                  const ExecOptions& options = {});

}  // namespace drove
