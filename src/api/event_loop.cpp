// drove::EventLoop and drove::Timer: the public face of the engine's loop + reaper.
#include "drove/event_loop.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "api/loop_core.hpp"
#include "base/clock.hpp"

namespace drove {

namespace detail {

void LoopCore::child_started() {
  if (live_children++ == 0) uv_ref(keep_alive.handle());
}

void LoopCore::child_reaped() {
  if (--live_children == 0) uv_unref(keep_alive.handle());
}

}  // namespace detail

struct Timer::State : detail::LoopResource {
  detail::LoopCore* core = nullptr;
  UvHandle<uv_timer_t> handle;
  std::function<void()> fn;

  ~State() override { State::shutdown(); }
  void shutdown() override {
    if (core) core->resources.erase(this);
    core = nullptr;
    handle.close();
    fn = nullptr;
  }
};

Timer::Timer() = default;
Timer::Timer(Timer&&) noexcept = default;
Timer& Timer::operator=(Timer&&) noexcept = default;
Timer::~Timer() = default;

void Timer::cancel() {
  if (state_) state_->shutdown();
}

bool Timer::active() const { return state_ && state_->handle && uv_is_active(state_->handle.handle()) != 0; }

EventLoop::EventLoop() : core_(std::make_unique<detail::LoopCore>()) {
  if (uv_loop_init(&core_->loop) != 0) {
    std::fputs("drove: uv_loop_init failed\n", stderr);
    std::abort();
  }
  core_->reaper = std::make_unique<process::Reaper>(&core_->loop, process::Reaper::Scope::watched_only);
  core_->keep_alive = UvHandle<uv_async_t>::make();
  uv_async_init(&core_->loop, core_->keep_alive.get(), nullptr);
  uv_unref(core_->keep_alive.handle());
}

EventLoop::~EventLoop() {
  // Close what the program left open; copies, because shutdown() may unregister.
  for (int pass = 0; pass < 3 && (!core_->resources.empty() || !core_->retained.empty()); ++pass) {
    std::vector<detail::LoopResource*> open(core_->resources.begin(), core_->resources.end());
    for (auto* r : open) {
      if (core_->resources.count(r)) r->shutdown();
    }
    auto retained = std::move(core_->retained);
    for (const auto& r : retained) r->shutdown();
    retained.clear();
  }
  core_->reaper.reset();
  core_->keep_alive.close();
  // Let libuv run the close callbacks (which free the handles), then close the loop.
  for (int i = 0; i < 16 && uv_loop_alive(&core_->loop); ++i) uv_run(&core_->loop, UV_RUN_NOWAIT);
  uv_run(&core_->loop, UV_RUN_NOWAIT);
  (void)uv_loop_close(&core_->loop);
}

void EventLoop::run() {
  core_->stopped = false;
  uv_run(&core_->loop, UV_RUN_DEFAULT);
}

bool EventLoop::run_until(const std::function<bool()>& done, std::int64_t timeout_ms) {
  core_->stopped = false;
  const std::int64_t deadline = monotonic_ms() + timeout_ms;
  // A non-ref'd timer bounds each wait without keeping an otherwise finished loop alive.
  auto tick = UvHandle<uv_timer_t>::make();
  uv_timer_init(&core_->loop, tick.get());
  uv_timer_start(
      tick.get(), [](uv_timer_t*) {}, 10, 10);
  uv_unref(tick.handle());
  while (!done()) {
    if (core_->stopped || monotonic_ms() >= deadline) return false;
    if (uv_run(&core_->loop, UV_RUN_ONCE) == 0 && !done()) {
      // Nothing is left that could make done() true.
      return false;
    }
  }
  return true;
}

void EventLoop::stop() {
  core_->stopped = true;
  uv_stop(&core_->loop);
}

Timer EventLoop::set_timer(std::int64_t delay_ms, std::function<void()> fn, std::int64_t repeat_ms, bool keep_alive) {
  Timer t;
  t.state_ = std::make_unique<Timer::State>();
  auto* s = t.state_.get();
  s->core = core_.get();
  core_->resources.insert(s);
  s->fn = std::move(fn);
  s->handle = UvHandle<uv_timer_t>::make();
  uv_timer_init(&core_->loop, s->handle.get());
  s->handle->data = s;
  uv_timer_start(
      s->handle.get(),
      [](uv_timer_t* h) {
        auto* self = owner_of<Timer::State>(h);
        if (!self || !self->fn) return;
        auto fn_copy = self->fn;  // the callback may cancel (or destroy) the timer
        fn_copy();
      },
      static_cast<std::uint64_t>(delay_ms < 0 ? 0 : delay_ms),
      static_cast<std::uint64_t>(repeat_ms < 0 ? 0 : repeat_ms));
  if (!keep_alive) uv_unref(s->handle.handle());
  return t;
}

uv_loop_s* EventLoop::native() const { return &core_->loop; }

}  // namespace drove
