// LoopTimer: a libuv timer that runs a function on the loop, behind the exception barrier.
// Created lazily by start(); stop() or destruction cancels it (a callback already queued sees
// its owner gone and does nothing, uv_handle.hpp).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "base/loop_barrier.hpp"
#include "base/uv_handle.hpp"

namespace drove {

class LoopTimer {
 public:
  // `where` names the timer in a contained internal error (loop_barrier.hpp).
  explicit LoopTimer(const char* where) : where_(where) {}

  // Runs `fire` after `delay_ms`, then every `repeat_ms` if non-zero; replaces a pending start.
  // `keeps_loop_alive` false: the timer alone does not keep uv_run() running.
  void start(uv_loop_t* loop, std::uint64_t delay_ms, std::uint64_t repeat_ms, std::function<void()> fire,
             bool keeps_loop_alive = true) {
    fire_ = std::move(fire);
    if (!handle_) {
      handle_ = UvHandle<uv_timer_t>::make();
      uv_timer_init(loop, handle_.get());
      handle_->data = this;
    }
    if (!keeps_loop_alive) uv_unref(handle_.handle());
    uv_timer_start(
        handle_.get(),
        [](uv_timer_t* t) {
          auto* self = owner_of<LoopTimer>(t);
          if (self == nullptr) return;
          loop_barrier(self->where_, [self] {
            auto action = self->fire_;  // it may restart or stop this timer
            action();
          });
        },
        delay_ms, repeat_ms);
  }
  void stop() { handle_ = {}; }
  [[nodiscard]] bool active() const { return handle_ && uv_is_active(handle_.handle()) != 0; }

 private:
  const char* where_;
  std::function<void()> fire_;
  UvHandle<uv_timer_t> handle_;
};

}  // namespace drove
