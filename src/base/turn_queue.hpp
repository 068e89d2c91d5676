// TurnQueue: work asked in bulk (start 1,000 instances, stop them, delete them) done a bounded
// batch per loop turn, with I/O polled between batches, so that one request never holds every
// other app's accept path, log lines and control requests for the whole of it. Items are ids;
// `run(id)` does one item and is skipped by nothing here: the owner checks that the id still
// wants the work (it may have been deleted, stopped or started since it was queued).
//
// push_or_run() does the item at once while the queue is empty and the turn's budget lasts,
// so a small request is answered in the same turn as before; once one item waits, the ones
// after it wait too (order is kept).
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <utility>

#include "base/clock.hpp"
#include "base/loop_barrier.hpp"
#include "base/uv_handle.hpp"

namespace drove {

class TurnQueue {
 public:
  // The time one loop turn may spend on items: each is a spawn, a stop or a teardown (about a
  // millisecond each at most), so a turn stays within a few milliseconds.
  static constexpr std::int64_t kDefaultBudgetMs = 2;

  // `before_batch`, if given, runs at the start of each batch, outside its budget: work the
  // batch's items share (the /proc snapshot stops without cgroups read), so that the first item
  // does not spend the whole turn's budget on it and leave one item per turn.
  TurnQueue(uv_loop_t* loop, const char* what, std::function<void(int)> run, std::int64_t budget_ms = kDefaultBudgetMs,
            std::function<void()> before_batch = {})
      : idle_(UvHandle<uv_idle_t>::make()),
        what_(what),
        run_(std::move(run)),
        before_batch_(std::move(before_batch)),
        budget_ms_(budget_ms) {
    uv_idle_init(loop, idle_.get());
    idle_->data = this;
  }
  TurnQueue(const TurnQueue&) = delete;
  TurnQueue& operator=(const TurnQueue&) = delete;

  // Queues `id` for a later turn.
  void push(int id) {
    queue_.push_back(id);
    if (queue_.size() == 1) {
      uv_idle_start(idle_.get(), [](uv_idle_t* h) {
        if (auto* self = static_cast<TurnQueue*>(h->data)) loop_barrier(self->what_, [self] { self->run_batch(); });
      });
    }
  }

  // Does `id` now if nothing waits and `began_ms` (when the caller's batch began) leaves budget;
  // queues it otherwise. True if it ran now.
  bool push_or_run(int id, std::int64_t began_ms) {
    if (queue_.empty() && monotonic_ms() - began_ms < budget_ms_) {
      run_(id);
      return true;
    }
    push(id);
    return false;
  }

  [[nodiscard]] bool empty() const noexcept { return queue_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return queue_.size(); }

 private:
  void run_batch() {
    if (before_batch_ && !queue_.empty()) before_batch_();
    const std::int64_t began = monotonic_ms();
    while (!queue_.empty() && monotonic_ms() - began < budget_ms_) {
      const int id = queue_.front();
      queue_.pop_front();
      run_(id);
    }
    if (queue_.empty()) uv_idle_stop(idle_.get());
  }

  UvHandle<uv_idle_t> idle_;
  const char* what_;
  std::function<void(int)> run_;
  std::function<void()> before_batch_;
  std::int64_t budget_ms_;
  std::deque<int> queue_;
};

}  // namespace drove
