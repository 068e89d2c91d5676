// Child::State: everything about one child process the library started — its pid and exit, the
// parent ends of its stdio pipes (libuv pipes), its IPC channel, and the callbacks. Shared
// between the user's Child handle and the loop, which retains it until the process has exited
// and its pipes and channel have closed (Node's 'close'), so dropping the Child loses nothing.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/loop_core.hpp"
#include "base/uv_handle.hpp"
#include "drove/process.hpp"

namespace drove {

struct Child::State : detail::LoopResource, std::enable_shared_from_this<Child::State> {
  struct Reader {
    State* owner = nullptr;
    int stream = 1;  // 1 stdout, 2 stderr
    UvHandle<uv_pipe_t> pipe;
    std::vector<char> buffer;
  };

  detail::LoopCore* core = nullptr;
  pid_t pid = 0;
  std::optional<ExitInfo> exit;
  std::unique_ptr<Reader> out, err;
  UvHandle<uv_pipe_t> in;
  std::unique_ptr<Channel> channel;
  std::function<void(std::string_view)> on_stdout, on_stderr;
  std::vector<std::function<void(ExitInfo)>> on_exit, on_close;
  bool close_fired = false;
  bool stdin_end_requested = false;
  int stdin_writes_pending = 0;

  ~State() override;
  void shutdown() override;

  // Wires the pipes and the reaper once spawned; `self` is this state.
  void start(const std::shared_ptr<State>& self, UniqueFd out_fd, UniqueFd err_fd, UniqueFd in_fd);
  void exited(ExitInfo info);
  void maybe_close();
  void close_stdin();
};

// Internal entry point of spawn/fork/exec: argv includes argv[0]. With `channel`, the child gets
// fd 3 as its IPC channel and the NODE_CHANNEL_* variables; `extra_env` is applied last.
Result<Child> start_child(EventLoop& loop, const std::string& file, std::vector<std::string> argv,
                          const SpawnOptions& options, bool channel, const Environment& extra_env);

struct ChildAccess {
  static std::shared_ptr<Child::State> state(const Child& c) { return c.state_; }
  static Child make(std::shared_ptr<Child::State> s) {
    Child c;
    c.state_ = std::move(s);
    return c;
  }
};

}  // namespace drove
