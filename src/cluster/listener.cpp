#include "cluster/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "cluster/socket_plan.hpp"
#include "ipc/cluster_messages.hpp"

namespace drove::cluster {
namespace {

bool parse_ip(const std::string& text, int port, SocketPlan& plan) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&plan.address);
  if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    plan.address_length = sizeof(sockaddr_in);
    plan.family = AF_INET;
    return true;
  }
  plan.address = sockaddr_storage{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&plan.address);
  std::string host = text;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    plan.address_length = sizeof(sockaddr_in6);
    plan.family = AF_INET6;
    return true;
  }
  return false;
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

// The helper is needed when the app's rights differ from the daemon's, except for an IP port
// the app's config explicitly lets the daemon bind (allow_privileged_ports: nothing on the
// filesystem is touched, so the daemon's rights reach no further than the port). A unix socket
// with a mode needs a umask of its own even for the daemon's user: the daemon's umask is
// process-wide and other threads create files.
bool needs_helper(const SocketPlan& plan, const BindIdentity& as) {
  if (plan.is_unix()) return as.differs() || plan.has_mode;
  return as.differs() && !as.allow_privileged_ports;
}

Result<UniqueFd> run_plan(const SocketPlan& plan, const BindIdentity& as, const std::string& label) {
  if (needs_helper(plan, as)) return open_in_helper(plan, as, label);
  int fd = -1;
  const SocketOutcome outcome = create_socket(plan, &fd);
  if (outcome.error != 0) return SysError{outcome.error, std::string(step_name(outcome.step)) + " " + label};
  return UniqueFd(fd);
}

SocketPlan inet_plan(const ListenRequest& r) {
  SocketPlan plan;
  plan.type = r.kind == SocketKind::udp ? SOCK_DGRAM : SOCK_STREAM;
  plan.nonblocking = r.nonblocking;
  // libuv sets SO_REUSEADDR on every TCP listener (TIME_WAIT must not block a restart).
  plan.reuse_address = r.kind == SocketKind::tcp || r.udp_reuse_addr;
  plan.reuse_port = r.reuse_port;
  plan.ipv6_only = r.ipv6_only;
  plan.listen = r.kind == SocketKind::tcp;
  plan.backlog = r.backlog;
  return plan;
}

Result<Listener> open_inet(const ListenRequest& r, const std::string& ip, const BindIdentity& as) {
  SocketPlan plan = inet_plan(r);
  if (!parse_ip(ip, r.port, plan)) return SysError{EINVAL, "not an IP address: " + ip};
  const std::string label =
      (plan.family == AF_INET6 && ip.front() != '[' ? "[" + ip + "]" : ip) + ":" + std::to_string(r.port);
  auto fd = run_plan(plan, as, label);
  if (!fd) return fd.error();
  Listener l;
  l.kind = r.kind;
  l.fd = std::move(fd.value());
  if (auto st = fill_sockname(l); !st) return st.error();
  return l;
}

Result<Listener> open_unix(const ListenRequest& r, const BindIdentity& as) {
  const std::string path = r.address.value_or("");
  SocketPlan plan;
  if (const int err = unix_plan(path.data(), path.size(), plan); err != 0) return SysError{err, "bind " + path};
  plan.nonblocking = r.nonblocking;
  plan.backlog = r.backlog;
  plan.remove_stale = true;
  if (r.readable_all || r.writable_all) {
    plan.has_mode = true;
    plan.mode = 0600 | (r.readable_all ? 0044 : 0) | (r.writable_all ? 0022 : 0);
  }
  auto fd = run_plan(plan, as, path);
  if (!fd) return fd.error();
  Listener l;
  l.kind = SocketKind::unix_path;
  l.address = path;
  l.port = -1;
  l.fd = std::move(fd.value());
  return l;
}

}  // namespace

nlohmann::json Listener::sockname() const {
  if (kind == SocketKind::unix_path) return nullptr;
  return ipc::make_sockname(address, family, port);
}

std::uint32_t accept_queue_length(const Listener& listener) {
  if (listener.kind != SocketKind::tcp || !listener.fd) return 0;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(listener.fd.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || info.tcpi_state != TCP_LISTEN)
    return 0;
  return info.tcpi_unacked;
}

Status set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return last_error("fcntl F_GETFL");
  if ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return last_error("fcntl O_NONBLOCK");
  }
  return Ok{};
}

Status remove_socket_path(const std::string& path, const BindIdentity& as) {
  SocketPlan plan;
  if (const int err = unix_plan(path.data(), path.size(), plan); err != 0) return SysError{err, "unlink " + path};
  if (as.differs()) return unlink_in_helper(plan, as, path);
  if (const SocketOutcome outcome = remove_socket_file(plan); outcome.error != 0) {
    return SysError{outcome.error, "unlink " + path};
  }
  return Ok{};
}

Result<Listener> open_listener(const ListenRequest& r, const BindIdentity& as) {
  if (r.kind == SocketKind::unix_path) return open_unix(r, as);
  if (r.port < 0 || r.port > 65535) return SysError{EINVAL, "port " + std::to_string(r.port)};
  const bool any = !r.address || r.address->empty();
  if (any) {
    if (r.kind == SocketKind::udp) return SysError{EINVAL, "UDP bind without an address"};
    // Node's null address: "::" dual-stack (unless ipv6Only), else 0.0.0.0 on IPv4-only hosts.
    auto v6 = open_inet(r, "::", as);
    if (v6.ok()) return v6;
    const int err = v6.error().code;
    if (err != EAFNOSUPPORT && err != EADDRNOTAVAIL && err != EPROTONOSUPPORT) return v6;
    return open_inet(r, "0.0.0.0", as);
  }
  return open_inet(r, *r.address, as);
}

}  // namespace drove::cluster
