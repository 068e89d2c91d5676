// Listener: one listening (TCP, unix stream) or bound (UDP) socket, opened the way libuv would
// for a Node server, owned by RAII. The cluster primary's SocketTable holds these so that they
// outlive any worker: restarts and reloads never refuse a connection.
//
// Opened with the app's rights (bind_helper.hpp) when the app runs as another user than the
// daemon; in-process otherwise. A unix socket never gets its mode by chmod(path) afterwards.
//
// Errors carry the positive errno; the protocol sends it negated (e.g. -98 EADDRINUSE) so the
// worker's server emits 'error' like a failed bind() in Node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "cluster/bind_helper.hpp"

namespace drove::cluster {

enum class SocketKind { tcp, unix_path, udp };

struct ListenRequest {
  SocketKind kind = SocketKind::tcp;
  // TCP: an IP literal, or nullopt/"" for all interfaces (dual-stack "::", falling back to
  // 0.0.0.0 without IPv6). UDP: an IP literal. unix: the absolute path.
  std::optional<std::string> address;
  int port = 0;             // 0: the kernel picks (see Listener::port)
  bool ipv6_only = false;   // IPV6_V6ONLY, set explicitly on every IPv6 socket
  bool reuse_port = false;  // SO_REUSEPORT (the reuseport policy)
  bool udp_reuse_addr = false;
  bool nonblocking = true;    // fds handed to Node must be O_NONBLOCK (protocol gotcha G1)
  int backlog = 511;          // listen() backlog; ignored for UDP
  bool readable_all = false;  // unix path: mode for other users (applied at bind, by umask)
  bool writable_all = false;
};

struct Listener {
  UniqueFd fd;
  SocketKind kind = SocketKind::tcp;
  std::string address;  // the bound address ("::", "127.0.0.1", or the path)
  int family = 0;       // 4 or 6; 0 for unix paths
  int port = 0;         // the real port (port 0 resolved); -1 for unix paths

  // Node's server.address(): {address, family:"IPv4"|"IPv6", port}; null for unix paths.
  [[nodiscard]] nlohmann::json sockname() const;
};

// `as`: whose rights to bind with (empty: the daemon's). Ports below 1024 are bound with the
// daemon's rights only when `as.allow_privileged_ports`; otherwise the kernel decides as for
// the app's user (EACCES without CAP_NET_BIND_SERVICE / ip_unprivileged_port_start).
Result<Listener> open_listener(const ListenRequest& request, const BindIdentity& as = {});

// Removes the socket file a closed unix listener leaves at `path` (only a socket file), with
// the app's rights like the bind that made it.
Status remove_socket_path(const std::string& path, const BindIdentity& as = {});

// Connections in a listening TCP socket's accept queue (TCP_INFO's tcpi_unacked is the queue
// length for a socket in LISTEN state); 0 for other sockets (unix ones report none).
std::uint32_t accept_queue_length(const Listener& listener);

// Sets O_NONBLOCK on an fd we are about to hand to a Node process.
Status set_nonblocking(int fd);

}  // namespace drove::cluster
