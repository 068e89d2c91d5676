// drove/net.hpp over the engine's open_listener and the library's Acceptor.
#include "drove/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "api/acceptor.hpp"
#include "base/clock.hpp"
#include "cluster/listener.hpp"

namespace drove::net {

struct Server::Impl {
  std::unique_ptr<detail::Acceptor> acceptor;
};

Result<UniqueFd> listen_socket(const std::string& address, int port, int backlog) {
  cluster::ListenRequest request{.kind = cluster::SocketKind::tcp,
                                 .address = address.empty() ? std::nullopt : std::optional<std::string>(address),
                                 .port = port,
                                 .backlog = backlog};
  auto listener = cluster::open_listener(request);
  if (!listener.ok()) return listener.error();
  return std::move(listener->fd);
}

int local_port(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return 0;
}

Result<Server> Server::listen(EventLoop& loop, const std::string& address, int port, ConnectionFn on_connection) {
  auto fd = listen_socket(address, port);
  if (!fd.ok()) return fd.error();
  return adopt(loop, std::move(fd.value()), std::move(on_connection));
}

Server Server::adopt(EventLoop& loop, UniqueFd listening, ConnectionFn on_connection) {
  Server s;
  s.impl_ = std::make_unique<Impl>();
  s.impl_->acceptor = std::make_unique<detail::Acceptor>(loop.core(), std::move(listening), std::move(on_connection));
  return s;
}

Server::Server() = default;
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;
Server::~Server() = default;
int Server::port() const { return impl_ && impl_->acceptor ? impl_->acceptor->port() : 0; }
void Server::close() {
  if (impl_) impl_->acceptor.reset();
}

Status write_all(int fd, std::string_view data, int timeout_ms) {
  const std::int64_t deadline = monotonic_ms() + timeout_ms;
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return last_error("send");
    const std::int64_t left = deadline - monotonic_ms();
    if (left <= 0) return SysError{ETIMEDOUT, "send"};
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
  return Ok{};
}

}  // namespace drove::net
