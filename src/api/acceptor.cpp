#include "api/acceptor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "cluster/listener.hpp"

namespace drove::detail {

Acceptor::Acceptor(LoopCore& core, UniqueFd listening, ConnectionFn on_connection)
    : core_(&core), fd_(std::move(listening)), on_connection_(std::move(on_connection)) {
  core.resources.insert(this);
  // The socket may be shared with other processes (activation, shared policy): non-blocking, so
  // that losing the race for a connection means EAGAIN here rather than a blocked loop.
  (void)cluster::set_nonblocking(fd_.get());
  poll_ = UvHandle<uv_poll_t>::make();
  uv_poll_init(&core.loop, poll_.get(), fd_.get());
  poll_->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (auto* self = owner_of<Acceptor>(h); self && status == 0) self->accept_ready();
  });
}

Acceptor::~Acceptor() { Acceptor::shutdown(); }

void Acceptor::shutdown() {
  *alive_ = false;
  poll_.close();
  fd_.reset();
  if (core_) core_->resources.erase(this);
  core_ = nullptr;
}

int Acceptor::port() const {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return 0;
}

void Acceptor::accept_ready() {
  // A bounded batch per readable event keeps one busy server from starving the loop.
  const auto alive = alive_;
  for (int i = 0; i < 64 && *alive && fd_; ++i) {
    const int conn = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN (or EMFILE: retried on the next readable event)
    }
    UniqueFd connection(conn);
    if (on_connection_) {
      auto fn = on_connection_;  // the callback may shut this acceptor down, or destroy it
      fn(std::move(connection));
      if (!*alive) return;
    }
  }
}

}  // namespace drove::detail
