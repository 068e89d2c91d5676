// The private state of ClusterPrimary (one struct per listening key, one per worker), shared by
// the files that implement it: cluster_primary.cpp (protocol), cluster_primary_routing.cpp
// (accepting and handing over connections), cluster_primary_sockets.cpp (describe, activation).
#pragma once

#include "cluster/cluster_primary.hpp"

namespace drove::cluster {

struct ClusterPrimary::ServerHandle {
  ClusterPrimary* primary = nullptr;
  std::string key;
  ListenRequest request;          // how to (re)open it; reuseport slots reuse it
  Listener listener;              // every policy but reuseport (TCP/unix)
  std::map<int, Listener> slots;  // reuseport: one socket per worker slot
  int port = 0;                   // the real port once bound
  nlohmann::json data;            // the first worker's `data` (TLS ticket keys), given to all
  bool has_data = false;
  bool activation = false;           // opened for socket activation, never accepted on here
  std::vector<WorkerId> workers;     // joined (queryServer answered), in join order
  std::int64_t unheld_since_ms = 0;  // when `workers` became empty (0: held, or activation)
  std::size_t cursor = 0;
  std::uint64_t accepted = 0;
  bool polling = false;
  UvHandle<uv_poll_t> poll;  // after `listener`: closed before the fd
};

struct ClusterPrimary::Worker {
  WorkerId id = 0;
  ipc::Channel* channel = nullptr;
  int slot = 0;
  bool routable = true;
  bool online = false;
  bool broken = false;                         // its channel refused a write: skip it until remove_worker()
  std::set<std::string> keys;                  // servers it asked for
  std::set<std::string> listening;             // servers it reported listening
  std::map<std::int64_t, HandOver> in_flight;  // by newconn seq
  std::uint64_t handed = 0, accepted = 0, rejected = 0;
  OpenConnections open;
};

}  // namespace drove::cluster
