#include "supervisor/autoscale.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace drove::supervisor {
namespace {

std::string describe_signal(const Autoscale& spec, double value, int current) {
  switch (spec.metric) {
    case ScaleMetric::cpu:
      return fmt::format("cpu {:.0f}% over {} instance{} (target {:g}% each)", value, current, current == 1 ? "" : "s",
                         spec.target);
    case ScaleMetric::pending:
      return fmt::format("{:.0f} connection{} waiting for {} instance{} (target {:g} each)", value,
                         value == 1 ? "" : "s", current, current == 1 ? "" : "s", spec.target);
    case ScaleMetric::loadavg:
      return fmt::format("load average {:.2f} (target {:g} per instance)", value, spec.target);
  }
  return {};
}

}  // namespace

int recommend_instances(const Autoscale& spec, double value, int current, int cpus) {
  const double usage = value / (static_cast<double>(std::max(current, 1)) * spec.target);
  long long wanted = current;
  if (std::fabs(usage - 1.0) > kScaleTolerance) {
    // The small epsilon keeps 140 / 70 at 2, not 3 by a rounding error.
    wanted = static_cast<long long>(std::ceil(std::min(value / spec.target, 1e6) - 1e-9));
  }
  if (spec.metric == ScaleMetric::loadavg) wanted = std::min<long long>(wanted, std::max(cpus, 1));
  return static_cast<int>(std::clamp<long long>(wanted, spec.min_instances, spec.max_instances));
}

AutoscaleDecision decide_autoscale(const Autoscale& spec, const AutoscaleInput& in, AutoscaleMemory& memory) {
  AutoscaleDecision out{in.current, in.current, in.current, {}};
  if (!in.signal.available) {
    out.reason = "no measurement yet";
    return out;
  }
  const int current = in.current;
  // Outside the bounds (they were changed, or a manual scale was resumed): back inside first.
  const int bounded = std::clamp(current, spec.min_instances, std::min(spec.max_instances, std::max(in.cap, 1)));
  const int recommended = recommend_instances(spec, in.signal.value, current, in.cpus);
  out.recommended = recommended;
  const std::string signal = describe_signal(spec, in.signal.value, current);

  auto& window = memory.recommendations;
  window.emplace_back(in.now_ms, recommended);
  while (!window.empty() && window.front().first <= in.now_ms - spec.down_delay_ms) window.pop_front();

  if (bounded != current) {
    out.to = bounded;
    out.reason = fmt::format("{} is outside {}..{}", current, spec.min_instances, spec.max_instances);
  } else if (recommended > current) {
    if (in.now_ms - memory.last_up_ms < spec.up_cooldown_ms) {
      out.reason = signal + ": scale-up cooling down";
      return out;
    }
    int to = recommended;
    if (spec.up_step > 0) to = std::min(to, current + spec.up_step);
    to = std::min(to, in.cap);
    if (to <= current) {
      out.reason = signal + ": at the daemon's instance cap";
      return out;
    }
    out.to = to;
    out.reason = signal + fmt::format(": {} recommended", recommended);
  } else if (recommended < current) {
    if (in.now_ms - memory.last_change_ms < spec.down_delay_ms) {
      out.reason = signal + ": waiting for the scale-down delay";
      return out;
    }
    int highest = 0;
    for (const auto& [at, count] : window) highest = std::max(highest, count);
    const int to = std::max({highest, current - spec.down_step, spec.min_instances});
    if (to >= current) {
      out.reason = signal + fmt::format(": {} recommended within the last {} ms", highest, spec.down_delay_ms);
      return out;
    }
    out.to = to;
    out.reason = signal + fmt::format(": {} or fewer recommended for {} ms", highest, spec.down_delay_ms);
  } else {
    out.reason = signal;
    return out;
  }
  if (out.to > current) memory.last_up_ms = in.now_ms;
  memory.last_change_ms = in.now_ms;
  return out;
}

}  // namespace drove::supervisor
