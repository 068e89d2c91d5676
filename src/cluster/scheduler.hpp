// Choosing the worker for the next connection: pure functions, unit-tested alone.
//
// round-robin: the next eligible worker after the last one chosen, in join order, so over N
// connections each of k always-eligible workers gets N/k ± 1.
// least-connections: the eligible worker with the fewest open connections; ties rotate like
// round-robin so that equally idle workers share the load.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace drove::cluster {

struct Candidate {
  bool eligible = false;  // routable, listening on the key, window not full
  std::size_t open_connections = 0;
};

// Returns the index of the chosen candidate and advances `cursor`; nullopt if none is eligible.
std::optional<std::size_t> pick_round_robin(const std::vector<Candidate>& candidates, std::size_t& cursor);
std::optional<std::size_t> pick_least_connections(const std::vector<Candidate>& candidates, std::size_t& cursor);

}  // namespace drove::cluster
