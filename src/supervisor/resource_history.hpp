// ResourceHistory: an instance's CPU and memory over the last few minutes, one entry per
// sampling period, oldest first: what `monit` and the web dashboard draw as soon as they open,
// instead of starting from an empty chart.
//
// A fixed ring of 8-byte samples (CPU as a float, memory in KiB), allocated at the first sample:
// the default 5 minutes at 1 s cost 2.4 KiB an instance, 2.4 MiB for 1,000 (docs/monitoring.md).
// It is the instance's (its slot's), so it runs on across restarts: a crash shows in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace drove::supervisor {

class ResourceHistory {
 public:
  // Samples kept; 0 keeps none. Changing it drops what was kept.
  void set_capacity(std::size_t capacity);
  void push(double cpu_percent, std::uint64_t memory_bytes, std::int64_t at_wall_ms);

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  [[nodiscard]] std::int64_t last_at_ms() const { return last_at_ms_; }
  // Oldest first.
  [[nodiscard]] std::vector<double> cpu() const;
  [[nodiscard]] std::vector<std::uint64_t> memory() const;

 private:
  struct Sample {
    float cpu = 0;
    std::uint32_t memory_kib = 0;
  };
  [[nodiscard]] const Sample& at(std::size_t i) const;  // i-th oldest

  std::vector<Sample> ring_;
  std::size_t capacity_ = 0;
  std::size_t next_ = 0;  // where the next sample goes
  std::size_t size_ = 0;
  std::int64_t last_at_ms_ = 0;
};

}  // namespace drove::supervisor
