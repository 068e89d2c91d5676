// drove::EventLoop — the event loop every asynchronous part of the public API runs on: a libuv
// loop plus the reaper of the children it started (a pidfd per child → waitpid(pid) → the
// Child's on_exit).
//
// Model: single-threaded. Callbacks run inside run(), one at a time. run() returns when nothing
// is left to wait for (no live child, no open channel, no listening server, no timer) or after
// stop(). The loop waits only for its own children, by pid: a program that embeds drove keeps
// its own children (fork/waitpid, uv_spawn, other EventLoops) and its own signal handlers
// (on Linux >= 5.3; older kernels have no pidfd and the loop then listens to SIGCHLD, still
// waiting per pid).
//
// Everything created on a loop (Child, Channel, cluster::Primary, servers, timers) should be
// destroyed before it; whatever is still open when the loop is destroyed is closed then.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

struct uv_loop_s;

namespace drove {

namespace detail {
struct LoopCore;
}

// A one-shot or repeating timer; move-only. Destroying it cancels it.
class Timer {
 public:
  Timer();
  Timer(Timer&&) noexcept;
  Timer& operator=(Timer&&) noexcept;
  ~Timer();
  void cancel();
  [[nodiscard]] bool active() const;

 private:
  friend class EventLoop;
  struct State;
  std::unique_ptr<State> state_;
};

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Runs callbacks until nothing is left to wait for, or stop() is called.
  void run();
  // Runs until `done()` holds (checked after each callback), nothing is left, stop() or the
  // deadline; returns whether done() held. Meant for tests and small tools.
  bool run_until(const std::function<bool()>& done, std::int64_t timeout_ms);
  // Makes run() return after the current callback (thread-unsafe: call it from a callback).
  void stop();

  // Calls `fn` after `delay_ms`, then every `repeat_ms` if non-zero. A timer keeps run() going
  // unless `keep_alive` is false.
  [[nodiscard]] Timer set_timer(std::int64_t delay_ms, std::function<void()> fn, std::int64_t repeat_ms = 0,
                                bool keep_alive = true);

  // The underlying libuv loop, for programs that add their own libuv handles.
  [[nodiscard]] uv_loop_s* native() const;

  // Internal: the engine pieces behind the public API (see src/api/loop_core.hpp).
  [[nodiscard]] detail::LoopCore& core() const { return *core_; }

 private:
  std::unique_ptr<detail::LoopCore> core_;
};

}  // namespace drove
