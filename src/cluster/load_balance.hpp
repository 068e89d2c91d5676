// How a cluster app's connections reach its instances, and the sockets it listens on: the
// cluster layer's vocabulary, which app specs (config/) name.
#pragma once

#include <optional>
#include <string>

namespace drove {

// How a cluster app's connections reach its instances (option `lb`, see docs/cluster.md).
enum class LoadBalance {
  round_robin,        // the daemon accepts and hands each connection to the next instance
  shared,             // instances get the listening socket itself and race to accept
  reuseport,          // one SO_REUSEPORT socket per instance slot, held by the daemon
  least_connections,  // the daemon accepts and hands over to the least busy instance
};

// One socket a cluster app listens on, for socket activation (`port`, or a `listen` list).
struct ListenSpec {
  std::string address;  // "" = all interfaces (dual-stack), an IP, or an absolute unix path
  int port = 0;         // TCP port; ignored for unix paths
  std::string name;     // LISTEN_FDNAMES entry; defaults to "http" / the path's basename
  bool operator==(const ListenSpec&) const = default;
};

const char* to_string(LoadBalance lb);  // "round-robin" | "shared" | "reuseport" | "least-connections"
std::optional<LoadBalance> parse_load_balance(const std::string& text);

}  // namespace drove
