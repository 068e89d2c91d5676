#include "base/loop_meter.hpp"

#include <time.h>

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/loop_barrier.hpp"

namespace drove {

LoopMeter::LoopMeter(uv_loop_t* loop) : loop_(loop), prepare_(UvHandle<uv_prepare_t>::make()) {
  uv_loop_configure(loop_, UV_METRICS_IDLE_TIME);
  uv_prepare_init(loop_, prepare_.get());
  prepare_->data = this;
  uv_prepare_start(prepare_.get(), [](uv_prepare_t* h) {
    loop_barrier("loop meter", [h] {
      if (auto* self = static_cast<LoopMeter*>(h->data)) self->on_prepare();
    });
  });
  uv_unref(prepare_.handle());
}

namespace {
std::uint64_t thread_cpu_ns() {
  timespec ts{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

void LoopMeter::on_prepare() {
  const std::uint64_t now = uv_hrtime();
  const std::uint64_t idle = uv_metrics_idle_time(loop_);
  const std::uint64_t cpu = thread_cpu_ns();
  if (last_hrtime_ != 0 && now >= last_hrtime_) {
    const std::uint64_t elapsed = now - last_hrtime_;
    const std::uint64_t idled = idle >= last_idle_ns_ ? idle - last_idle_ns_ : 0;
    record(elapsed > idled ? elapsed - idled : 0, cpu >= last_cpu_ns_ ? cpu - last_cpu_ns_ : 0, wall_ms());
  }
  last_hrtime_ = now;
  last_idle_ns_ = idle;
  last_cpu_ns_ = cpu;
}

void LoopMeter::record(std::uint64_t busy_ns, std::uint64_t cpu_ns, std::int64_t now_wall_ms) {
  ++turns_;
  longest_cpu_ns_ = std::max(longest_cpu_ns_, cpu_ns);
  busy_ns_total_ += busy_ns;
  if (busy_ns > longest_ns_) {
    longest_ns_ = busy_ns;
    longest_at_ms_ = now_wall_ms;
  }
  const std::int64_t minute = now_wall_ms / 60000;
  if (minute != minute_) {
    last_minute_longest_ns_ = minute == minute_ + 1 ? this_minute_longest_ns_ : 0;
    this_minute_longest_ns_ = 0;
    minute_ = minute;
  }
  this_minute_longest_ns_ = std::max(this_minute_longest_ns_, busy_ns);
  if (busy_ns > 1000000) {
    const std::int64_t second = now_wall_ms / 1000;
    Second& slot = seconds_[static_cast<std::size_t>(second) % kHistorySeconds];
    if (slot.second != second) slot = Second{second, 0, 0};
    slot.longest_ns = std::max(slot.longest_ns, busy_ns);
    slot.longest_cpu_ns = std::max(slot.longest_cpu_ns, cpu_ns);
  }
  const double ms = static_cast<double>(busy_ns) / 1e6;
  std::size_t bucket = 0;
  while (bucket < kBucketsMs.size() && ms > kBucketsMs[bucket]) ++bucket;
  ++buckets_[bucket];
}

nlohmann::json LoopMeter::to_json(bool history) const {
  nlohmann::json buckets = nlohmann::json::array();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i];
    buckets.push_back({{"le_ms", i < kBucketsMs.size() ? nlohmann::json(kBucketsMs[i]) : nlohmann::json("+Inf")},
                       {"count", cumulative}});
  }
  const auto to_ms = [](std::uint64_t ns) { return static_cast<double>(ns / 1000) / 1000.0; };
  // Recent: the minute being recorded and the one before, as seen from now.
  const std::int64_t now_minute = wall_ms() / 60000;
  std::uint64_t recent = 0;
  if (now_minute == minute_)
    recent = std::max(this_minute_longest_ns_, last_minute_longest_ns_);
  else if (now_minute == minute_ + 1)
    recent = this_minute_longest_ns_;
  nlohmann::json out = {{"turns", turns_},
                        {"busy_seconds", static_cast<double>(busy_ns_total_) / 1e9},
                        {"longest_turn_ms", to_ms(longest_ns_)},
                        {"longest_turn_at", longest_at_ms_},
                        {"longest_turn_cpu_ms", to_ms(longest_cpu_ns_)},
                        {"recent_longest_turn_ms", to_ms(recent)},
                        {"buckets", std::move(buckets)}};
  if (history) {
    const std::int64_t oldest = wall_ms() / 1000 - static_cast<std::int64_t>(kHistorySeconds);
    std::vector<const Second*> kept;
    for (const Second& s : seconds_) {
      if (s.second > oldest) kept.push_back(&s);
    }
    std::sort(kept.begin(), kept.end(), [](const Second* a, const Second* b) { return a->second < b->second; });
    nlohmann::json seconds = nlohmann::json::array();
    for (const Second* s : kept) seconds.push_back({s->second, to_ms(s->longest_ns), to_ms(s->longest_cpu_ns)});
    out["seconds"] = std::move(seconds);
  }
  return out;
}

}  // namespace drove
