// OpenConnections: how many of the connections handed to one worker are still open, for the
// least-connections policy (docs/cluster.md).
//
// The router (router.hpp) records the socket inode (fstat st_ino) of every connection it hands
// over. A periodic census (socket_census.hpp, the kernel's sock_diag) lists the inodes of TCP
// sockets still held by some process; a connection the worker closed is orphaned by the kernel
// (inode 0 in the census) or gone, so intersecting the two gives the exact open set as of the
// census, plus everything handed since. Without a census (sock_diag unavailable, unix sockets), a
// handed connection is assumed open for `estimate_ttl_ms` after the hand-over.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

namespace drove::cluster {

class OpenConnections {
 public:
  void handed(ino_t inode, std::int64_t now_ms) { handed_at_ms_[inode] = now_ms; }
  void closed(ino_t inode) { handed_at_ms_.erase(inode); }

  // Keeps only the inodes the census saw alive; hand-overs after `census_started_ms` are kept
  // regardless (the census may predate them).
  void refresh(const std::unordered_set<ino_t>& live, std::int64_t census_started_ms);

  // The fallback when no census is possible.
  void expire(std::int64_t now_ms, std::int64_t estimate_ttl_ms);

  [[nodiscard]] std::size_t count() const noexcept { return handed_at_ms_.size(); }

 private:
  std::unordered_map<ino_t, std::int64_t> handed_at_ms_;
};

}  // namespace drove::cluster
