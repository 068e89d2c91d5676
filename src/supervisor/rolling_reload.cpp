#include "supervisor/rolling_reload.hpp"

#include <algorithm>
#include <utility>

namespace drove::supervisor {

RollingReload::RollingReload(std::vector<int> ids, int batch_size, Host host, Done done)
    : queue_(ids.begin(), ids.end()),
      batch_size_(std::max(1, batch_size)),
      host_(std::move(host)),
      done_(std::move(done)) {}

void RollingReload::begin() {
  active_ = true;
  next_batch();
}

bool RollingReload::in_flight(int id) const {
  return std::find(in_flight_.begin(), in_flight_.end(), id) != in_flight_.end();
}

void RollingReload::next_batch() {
  while (active_ && in_flight_.empty()) {
    if (queue_.empty()) return finish({});
    for (int n = 0; n < batch_size_ && !queue_.empty(); ++n) {
      const int id = queue_.front();
      queue_.pop_front();
      switch (host_.turn_of(id)) {
        case Turn::skip:
          continue;
        case Turn::start:
          host_.start(id);
          continue;
        case Turn::replace:
          break;
      }
      in_flight_.push_back(id);
      if (std::string why; !host_.launch_replacement(id, why)) return failed(id, std::move(why));
    }
  }
}

void RollingReload::ready(int id) {
  if (!active_) return;
  std::erase(in_flight_, id);
  next_batch();
}

void RollingReload::failed(int id, std::string why) {
  if (!active_) return;
  // Every replacement of the batch goes; the processes they were to replace keep serving.
  std::vector<int> batch = std::exchange(in_flight_, {});
  if (std::find(batch.begin(), batch.end(), id) == batch.end()) batch.push_back(id);
  queue_.clear();
  active_ = false;
  for (int slot : batch) host_.abandon_replacement(slot);
  finish({.ok = false, .failed_id = id, .why = std::move(why)});
}

void RollingReload::forget(const std::vector<int>& ids) {
  if (!active_) return;
  bool was_in_flight = false;
  for (int id : ids) {
    std::erase(queue_, id);
    was_in_flight = std::erase(in_flight_, id) > 0 || was_in_flight;
  }
  if (was_in_flight) next_batch();
}

void RollingReload::finish(const Outcome& outcome) {
  active_ = false;
  queue_.clear();
  in_flight_.clear();
  if (auto done = std::exchange(done_, nullptr)) done(outcome);
}

}  // namespace drove::supervisor
