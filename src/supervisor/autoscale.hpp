// Autoscale: the decision of how many instances an app should run, as a pure function of what
// was measured and what was decided before (signals in, decision out). The supervisor samples
// the signals once per sampling period and carries the decision out (supervisor.cpp); this file
// knows no process, socket or clock of its own, so hysteresis and cool-downs are unit-tested.
//
// The rule (docs/cluster.md, "Autoscaling"), after Kubernetes' HPA:
//  - recommended = ceil(value / target), the count at which each instance carries `target`,
//    held at the current count while value / (current × target) is within ±10 % (hysteresis in
//    value); loadavg is also bounded by the CPU count, as seed 002's rule is; then [min, max].
//  - Up: at once (the first new instance within one sampling period of the trigger), at most
//    up_step instances, then no other scale-up for up_cooldown.
//  - Down: only when every recommendation of the last down_delay asked for fewer and the last
//    change is down_delay old (hysteresis in time), to the highest of those recommendations,
//    at most down_step instances at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>

#include "config/app_spec.hpp"

namespace drove::supervisor {

inline constexpr double kScaleTolerance = 0.1;

struct ScaleSignal {
  bool available = false;  // false: nothing measured yet (no sample, no listener): hold
  double value = 0;        // cpu: % summed over the app; pending: connections; loadavg: load
};

struct AutoscaleInput {
  int current = 1;  // the app's instances (slots), whatever their processes are doing
  ScaleSignal signal;
  int cpus = 1;
  int cap = std::numeric_limits<int>::max();  // most instances the daemon's caps allow the app
  std::int64_t now_ms = 0;
};

// What the policy remembers between two decisions (one per app).
struct AutoscaleMemory {
  std::int64_t last_up_ms = std::numeric_limits<std::int64_t>::min() / 2;
  std::int64_t last_change_ms = 0;                           // start of the app, or its last scale event
  std::deque<std::pair<std::int64_t, int>> recommendations;  // of the last down_delay
};

struct AutoscaleDecision {
  int from = 1;
  int to = 1;  // == from: hold
  int recommended = 1;
  std::string reason;  // one line: the signal, its value and the rule that decided
  [[nodiscard]] bool changes() const { return to != from; }
};

// The raw recommendation for `value` with `current` instances (no cool-down, no window).
int recommend_instances(const Autoscale& spec, double value, int current, int cpus);

AutoscaleDecision decide_autoscale(const Autoscale& spec, const AutoscaleInput& in, AutoscaleMemory& memory);

}  // namespace drove::supervisor
