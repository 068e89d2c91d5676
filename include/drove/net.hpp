// drove/net.hpp — the few TCP pieces the other headers' users need without writing socket
// code: a listening socket, a server that accepts on the loop, and a bounded blocking write
// for short replies. (Connections are plain non-blocking fds: use any I/O you like on them.)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "drove/event_loop.hpp"
#include "drove/result.hpp"
#include "drove/unique_fd.hpp"

namespace drove::net {

using ConnectionFn = std::function<void(UniqueFd connection)>;

// A bound, listening, non-blocking TCP socket; `address` "" means all interfaces (dual-stack).
Result<UniqueFd> listen_socket(const std::string& address, int port, int backlog = 511);
// The TCP port `fd` is bound to, or 0.
int local_port(int fd);

// Accepts on a listening socket from the loop; each connection is non-blocking.
class Server {
 public:
  static Result<Server> listen(EventLoop& loop, const std::string& address, int port, ConnectionFn on_connection);
  // Accepts on a socket received from elsewhere (e.g. a parent's send(msg, server_fd)).
  static Server adopt(EventLoop& loop, UniqueFd listening, ConnectionFn on_connection);

  Server();
  Server(Server&&) noexcept;
  Server& operator=(Server&&) noexcept;
  ~Server();
  [[nodiscard]] int port() const;
  void close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Writes all of `data`, waiting (poll) for room up to `timeout_ms`. For short replies only: it
// blocks the loop while the peer does not read.
Status write_all(int fd, std::string_view data, int timeout_ms = 5000);

}  // namespace drove::net
