#include "cluster/open_connections.hpp"

namespace drove::cluster {

void OpenConnections::refresh(const std::unordered_set<ino_t>& live, std::int64_t census_started_ms) {
  for (auto it = handed_at_ms_.begin(); it != handed_at_ms_.end();) {
    if (it->second < census_started_ms && live.count(it->first) == 0)
      it = handed_at_ms_.erase(it);
    else
      ++it;
  }
}

void OpenConnections::expire(std::int64_t now_ms, std::int64_t estimate_ttl_ms) {
  for (auto it = handed_at_ms_.begin(); it != handed_at_ms_.end();) {
    if (now_ms - it->second >= estimate_ttl_ms)
      it = handed_at_ms_.erase(it);
    else
      ++it;
  }
}

}  // namespace drove::cluster
