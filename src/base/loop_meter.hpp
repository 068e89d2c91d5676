// LoopMeter: how long the daemon's loop is busy between two waits for I/O. Every app's accept
// path (round-robin cluster mode), every control request and every log line waits on this loop:
// its longest turn is the longest any of them waited for the daemon. Measured, not guessed:
// the time between two prepare phases less the time libuv spent blocked in epoll
// (uv_metrics_idle_time), so a turn is whatever callbacks ran in it, timers to close handles.
// Alongside, the CPU time the daemon's thread used in the turn: on a busy host a turn's wall
// time also counts the time the daemon waited for a CPU (1,000 apps exec'ing at once), which
// other apps feel but which no code in the daemon can shorten; the CPU time is what it cost.
//
// Shown by the daemon's `ping` (`drove ping`), kept as a histogram (Prometheus-shaped buckets),
// and read by bench/ ("daemon's longest loop turn" rows) around a piece of work.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

#include "base/uv_handle.hpp"

namespace drove {

class LoopMeter {
 public:
  // Upper bounds of the histogram's buckets, in milliseconds (a last one is +Inf).
  static constexpr std::array<double, 10> kBucketsMs = {1, 2, 5, 10, 20, 50, 100, 250, 500, 1000};

  // Call before the loop runs: idle-time accounting is a loop option. Never keeps the loop alive.
  explicit LoopMeter(uv_loop_t* loop);
  LoopMeter(const LoopMeter&) = delete;
  LoopMeter& operator=(const LoopMeter&) = delete;

  // Records one turn that was busy for `busy_ns` of wall time, `cpu_ns` of it on a CPU
  // (exposed for tests).
  void record(std::uint64_t busy_ns, std::uint64_t cpu_ns, std::int64_t now_wall_ms);

  // {"turns", "busy_seconds", "longest_turn_ms", "longest_turn_at", "longest_turn_cpu_ms",
  //  "recent_longest_turn_ms", "buckets": [{"le_ms", "count"}...]} (wall time; bucket counts
  //  cumulative, as Prometheus has them).
  // With `history`: also "seconds": [[unix second, longest ms, longest cpu ms]...] for each of
  // the last kHistorySeconds seconds that had a turn over 1 ms (bench/ reads the longest turn
  // of a time window from it).
  [[nodiscard]] nlohmann::json to_json(bool history = false) const;

  static constexpr std::size_t kHistorySeconds = 600;

 private:
  void on_prepare();

  uv_loop_t* loop_;
  UvHandle<uv_prepare_t> prepare_;
  std::uint64_t last_hrtime_ = 0;
  std::uint64_t last_idle_ns_ = 0;
  std::uint64_t last_cpu_ns_ = 0;

  std::uint64_t turns_ = 0;
  std::uint64_t busy_ns_total_ = 0;
  std::uint64_t longest_ns_ = 0;
  std::int64_t longest_at_ms_ = 0;
  std::uint64_t longest_cpu_ns_ = 0;  // the most CPU time one turn used
  // The longest turn of the current minute and of the one before: "recent" is the last 1-2 min.
  std::int64_t minute_ = 0;
  std::uint64_t this_minute_longest_ns_ = 0;
  std::uint64_t last_minute_longest_ns_ = 0;
  std::array<std::uint64_t, kBucketsMs.size() + 1> buckets_{};  // not cumulative; last is +Inf
  struct Second {
    std::int64_t second = -1;
    std::uint64_t longest_ns = 0;
    std::uint64_t longest_cpu_ns = 0;
  };
  std::array<Second, kHistorySeconds> seconds_{};  // a ring, by unix second
};

}  // namespace drove
