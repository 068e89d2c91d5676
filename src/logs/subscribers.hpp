// Subscribers: the live listeners of `drove logs`. Shared (shared_ptr) by the manager and every
// stream, so a stream never outlives what it publishes to. A callback may unsubscribe itself
// or others while lines are being published.
#pragma once

#include <functional>
#include <utility>
#include <vector>

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
};

}  // namespace drove::logs
