#include "supervisor/resource_history.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace drove::supervisor {

void ResourceHistory::set_capacity(std::size_t capacity) {
  if (capacity == capacity_) return;
  capacity_ = capacity;
  ring_.clear();
  ring_.shrink_to_fit();
  next_ = size_ = 0;
  last_at_ms_ = 0;
}

void ResourceHistory::push(double cpu_percent, std::uint64_t memory_bytes, std::int64_t at_wall_ms) {
  if (capacity_ == 0) return;
  if (ring_.empty()) ring_.resize(capacity_);
  const std::uint64_t kib =
      std::min<std::uint64_t>((memory_bytes + 512) / 1024, std::numeric_limits<std::uint32_t>::max());
  ring_[next_] = {static_cast<float>(std::isfinite(cpu_percent) ? cpu_percent : 0.0), static_cast<std::uint32_t>(kib)};
  next_ = (next_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
  last_at_ms_ = at_wall_ms;
}

const ResourceHistory::Sample& ResourceHistory::at(std::size_t i) const {
  return ring_[(next_ + capacity_ - size_ + i) % capacity_];
}

std::vector<double> ResourceHistory::cpu() const {
  std::vector<double> out;
  out.reserve(size_);
  // One decimal: what a chart shows, and a third of the JSON.
  for (std::size_t i = 0; i < size_; ++i) out.push_back(std::round(static_cast<double>(at(i).cpu) * 10.0) / 10.0);
  return out;
}

std::vector<std::uint64_t> ResourceHistory::memory() const {
  std::vector<std::uint64_t> out;
  out.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i) out.push_back(std::uint64_t{at(i).memory_kib} * 1024);
  return out;
}

}  // namespace drove::supervisor
