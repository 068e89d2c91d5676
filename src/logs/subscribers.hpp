// Subscribers: the live listeners of `drove logs` (and of `drove runtime`'s stdout). Shared
// (shared_ptr) by the manager and every stream, so a stream never outlives what it publishes to.
// A callback may unsubscribe itself or others while lines are being published.
//
// Back-pressure, as a log file applies it: a subscriber that cannot keep up (the runtime's
// stdout, read by a slow container log driver) calls set_pressure(true), every stream stops
// reading its pipe until set_pressure(false), and the apps block in write(): nothing is lost.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "logs/flow_control.hpp"
#include "logs/output_spec.hpp"

namespace drove::logs {

class Subscribers {
 public:
  using Callback = std::function<void(const LogLine&)>;

  int add(Callback callback) {
    entries_.emplace_back(next_token_, std::move(callback));
    return next_token_++;
  }
  void remove(int token) {
    for (auto& [entry_token, callback] : entries_) {
      if (entry_token == token) callback = nullptr;
    }
    if (publishing_ == 0) compact();
  }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

  // Streams register while they exist; one added under pressure starts paused. A stream
  // leaves as it is destroyed: it is not resumed.
  void add_feeder(FlowControl* feeder) {
    feeders_.push_back(feeder);
    if (pressure_) feeder->pause_reading();
  }
  void remove_feeder(FlowControl* feeder) { std::erase(feeders_, feeder); }
  void set_pressure(bool on) {
    if (on == pressure_) return;
    pressure_ = on;
    // A copy: resuming a reader may deliver data whose callbacks add or remove streams.
    for (FlowControl* feeder : std::vector<FlowControl*>(feeders_)) {
      if (on) {
        feeder->pause_reading();
      } else {
        feeder->resume_reading();
      }
    }
  }
  [[nodiscard]] bool under_pressure() const noexcept { return pressure_; }

  void publish(const LogLine& line) {
    ++publishing_;
    // Index loop: a callback may subscribe (push_back) while we iterate.
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].second) entries_[i].second(line);
    }
    if (--publishing_ == 0) compact();
  }

 private:
  void compact() {
    std::erase_if(entries_, [](const auto& entry) { return !entry.second; });
  }

  std::vector<std::pair<int, Callback>> entries_;
  int next_token_ = 1;
  int publishing_ = 0;
  std::vector<FlowControl*> feeders_;
  bool pressure_ = false;
};

}  // namespace drove::logs
