#include "process/notify_socket.hpp"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "base/loop_barrier.hpp"

namespace drove::process {

NotifySocket::NotifySocket(uv_loop_t* loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

Status NotifySocket::bind_abstract() {
  // A name nobody can guess, so nobody can take it first (an abstract name has no owner or
  // mode); a collision just draws again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::uint64_t nonce = 0;
    if (::getrandom(&nonce, sizeof nonce, 0) != static_cast<ssize_t>(sizeof nonce)) return last_error("getrandom");
    char name[64];
    const int length = std::snprintf(name, sizeof name, "drove-notify-%d-%016llx", static_cast<int>(::getpid()),
                                     static_cast<unsigned long long>(nonce));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name, static_cast<std::size_t>(length));  // sun_path[0] = 0: abstract
    const auto address_length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + static_cast<std::size_t>(length));
    auto bound = bind_address(addr, address_length);
    if (bound.ok()) {
      path_ = std::string("@") + name;
      return Ok{};
    }
    if (bound.error().code != EADDRINUSE) return bound.error();
  }
  return SysError{EADDRINUSE, "bind the notify socket"};
}

Status NotifySocket::bind_address(const sockaddr_un& address, socklen_t length) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return last_error("notify socket");
  // Credentials on before bind: no datagram can arrive without them.
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return last_error("SO_PASSCRED");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0)
    return last_error("bind the notify socket");
  fd_ = std::move(fd);
  poll_ = UvHandle<uv_poll_t>::make();
  uv_poll_init(loop_, poll_.get(), fd_.get());
  poll_->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* p, int, int) {
    loop_barrier("notify socket", [p] {
      if (auto* self = owner_of<NotifySocket>(p)) self->drain();
    });
  });
  uv_unref(poll_.handle());
  return Ok{};
}

void NotifySocket::drain() {
  // Bounded per wake-up: anyone may send here, and a flood must not hold the loop.
  for (int budget = 256; budget > 0; --budget) {
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    iovec iov{data, sizeof data - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return;  // EAGAIN: drained
    pid_t sender = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = cred.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        // File descriptors (FDSTORE) are not supported: close them rather than leak. Closing
        // is also what BARRIER=1 asks for (sd_notify_barrier(3)): every datagram queued
        // before this one has been handled, so a short-lived sender may now exit.
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          UniqueFd discard(fd);
        }
      }
    }
    if (sender > 0) handler_(sender, parse(std::string_view(data, static_cast<size_t>(n))));
  }
}

std::map<std::string, std::string> NotifySocket::parse(std::string_view datagram) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start < datagram.size()) {
    size_t end = datagram.find('\n', start);
    if (end == std::string_view::npos) end = datagram.size();
    std::string_view line = datagram.substr(start, end - start);
    if (auto eq = line.find('='); eq != std::string_view::npos && eq > 0) {
      fields[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    start = end + 1;
  }
  return fields;
}

}  // namespace drove::process
