// The socket census: which TCP sockets on given local ports are still held open by some
// process, by inode, from the kernel's NETLINK_SOCK_DIAG (inet_diag dump, IPv4 and IPv6). Used
// by the least-connections policy (open_connections.hpp). A closed-by-its-owner socket lingering
// in FIN_WAIT/TIME_WAIT is orphaned and reports inode 0, so it does not count.
//
// The dump is synchronous but bounded: the kernel answers from memory, and the socket has a
// receive timeout so a misbehaving kernel cannot stall the loop for more than 50 ms.
#pragma once

#include <sys/types.h>

#include <unordered_set>
#include <vector>

#include "base/result.hpp"

namespace drove::cluster {

Result<std::unordered_set<ino_t>> live_tcp_inodes(const std::vector<int>& local_ports);

}  // namespace drove::cluster
