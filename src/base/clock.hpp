// Time helpers. Monotonic time for durations and timers; wall time only for what users see
// (created_at, pm_uptime, log timestamps).
#pragma once

#include <chrono>
#include <cstdint>

namespace drove {

inline std::int64_t monotonic_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

inline std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace drove
