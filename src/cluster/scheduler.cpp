#include "cluster/scheduler.hpp"

namespace drove::cluster {

std::optional<std::size_t> pick_round_robin(const std::vector<Candidate>& candidates, std::size_t& cursor) {
  const std::size_t n = candidates.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (cursor + k) % n;
    if (candidates[i].eligible) {
      cursor = (i + 1) % n;
      return i;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> pick_least_connections(const std::vector<Candidate>& candidates, std::size_t& cursor) {
  const std::size_t n = candidates.size();
  std::optional<std::size_t> best;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (cursor + k) % n;
    if (!candidates[i].eligible) continue;
    if (!best || candidates[i].open_connections < candidates[*best].open_connections) best = i;
  }
  if (best) cursor = (*best + 1) % n;
  return best;
}

}  // namespace drove::cluster
