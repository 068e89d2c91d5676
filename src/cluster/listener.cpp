#include "cluster/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "ipc/cluster_messages.hpp"

namespace drove::cluster {
namespace {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;  // AF_INET / AF_INET6 / AF_UNIX
};

std::optional<Address> parse_ip(const std::string& text, int port) {
  Address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    a.length = sizeof(sockaddr_in);
    a.family = AF_INET;
    return a;
  }
  a = Address{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  std::string host = text;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.length = sizeof(sockaddr_in6);
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

Status set_int_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return last_error(what);
  return Ok{};
}

// Reads back what the kernel bound (port 0 → the real port).
Status fill_sockname(Listener& l) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return last_error("getsockname");
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    l.family = 4;
    l.port = ntohs(v4->sin_port);
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    l.family = 6;
    l.port = ntohs(v6->sin6_port);
  }
  l.address = text;
  return Ok{};
}

Result<Listener> open_inet(const ListenRequest& r, const Address& addr, const std::string& label) {
  const int type = (r.kind == SocketKind::udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC |
                   (r.nonblocking ? SOCK_NONBLOCK : 0);
  Listener l;
  l.kind = r.kind;
  l.fd = UniqueFd(::socket(addr.family, type, 0));
  if (!l.fd) return last_error("socket for " + label);
  const int fd = l.fd.get();
  // libuv sets SO_REUSEADDR on every TCP listener (TIME_WAIT must not block a restart).
  if (r.kind == SocketKind::tcp || r.udp_reuse_addr) {
    if (auto st = set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); !st) return st.error();
  }
  if (r.reuse_port) {
    if (auto st = set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !st) return st.error();
  }
  if (addr.family == AF_INET6) {
    if (auto st = set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, r.ipv6_only ? 1 : 0, "IPV6_V6ONLY"); !st) {
      return st.error();
    }
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.length) != 0) {
    return last_error("bind " + label);
  }
  if (r.kind == SocketKind::tcp && ::listen(fd, r.backlog > 0 ? r.backlog : 511) != 0) {
    return last_error("listen " + label);
  }
  if (auto st = fill_sockname(l); !st) return st.error();
  return l;
}

// A path whose socket nobody accepts on any more is a leftover of a dead server: remove it. A
// live one is EADDRINUSE, as bind() would say; a non-socket file is never removed.
Status remove_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return Ok{};
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return last_error("socket");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    return SysError{EADDRINUSE, "bind " + path};
  }
  if (errno == ECONNREFUSED) ::unlink(path.c_str());
  return Ok{};
}

Result<Listener> open_unix(const ListenRequest& r) {
  const std::string path = r.address.value_or("");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return SysError{path.empty() ? EINVAL : ENAMETOOLONG, "bind " + path};
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (auto st = remove_stale_socket(path, addr); !st) return st.error();
  Listener l;
  l.kind = SocketKind::unix_path;
  l.address = path;
  l.port = -1;
  l.fd = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (r.nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!l.fd) return last_error("socket for " + path);
  if (::bind(l.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return last_error("bind " + path);
  }
  if (r.readable_all || r.writable_all) {
    const mode_t mode = 0600 | (r.readable_all ? 0044 : 0) | (r.writable_all ? 0022 : 0);
    if (::chmod(path.c_str(), mode) != 0) return last_error("chmod " + path);
  }
  if (::listen(l.fd.get(), r.backlog > 0 ? r.backlog : 511) != 0) return last_error("listen " + path);
  return l;
}

}  // namespace

nlohmann::json Listener::sockname() const {
  if (kind == SocketKind::unix_path) return nullptr;
  return ipc::make_sockname(address, family, port);
}

Status set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return last_error("fcntl F_GETFL");
  if ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return last_error("fcntl O_NONBLOCK");
  }
  return Ok{};
}

Result<Listener> open_listener(const ListenRequest& r) {
  if (r.kind == SocketKind::unix_path) return open_unix(r);
  if (r.port < 0 || r.port > 65535) return SysError{EINVAL, "port " + std::to_string(r.port)};
  const std::string port_text = std::to_string(r.port);
  const bool any = !r.address || r.address->empty();
  if (any) {
    if (r.kind == SocketKind::udp) return SysError{EINVAL, "UDP bind without an address"};
    // Node's null address: "::" dual-stack (unless ipv6Only), else 0.0.0.0 on IPv4-only hosts.
    auto v6 = open_inet(r, *parse_ip("::", r.port), "[::]:" + port_text);
    if (v6.ok()) return v6;
    const int err = v6.error().code;
    if (err != EAFNOSUPPORT && err != EADDRNOTAVAIL && err != EPROTONOSUPPORT) return v6;
    return open_inet(r, *parse_ip("0.0.0.0", r.port), "0.0.0.0:" + port_text);
  }
  const auto addr = parse_ip(*r.address, r.port);
  if (!addr) return SysError{EINVAL, "not an IP address: " + *r.address};
  return open_inet(r, *addr, *r.address + ":" + port_text);
}

}  // namespace drove::cluster
