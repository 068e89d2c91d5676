#include "cluster/socket_plan.hpp"

#include <errno.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/unique_fd.hpp"

namespace drove::cluster {
namespace {

bool set_option(int fd, int level, int name, int value) {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

// A socket file nobody accepts on any more is a leftover of a dead server: remove it. A live
// one is EADDRINUSE, as bind() would say; a non-socket file is never removed. Run with the
// binder's rights, so an app can only remove what its own user could.
SocketOutcome remove_stale_socket(const SocketPlan& plan) {
  struct stat st {};
  if (::lstat(plan.unix_path(), &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  // Non-blocking: a live server with a full backlog answers EAGAIN instead of blocking us.
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) return {errno, SocketStep::socket};
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&plan.address), plan.address_length) == 0 ||
      errno == EAGAIN) {
    return {EADDRINUSE, SocketStep::bind};
  }
  if (errno == ECONNREFUSED) ::unlink(plan.unix_path());
  return {};
}

}  // namespace

const char* step_name(SocketStep step) {
  switch (step) {
    case SocketStep::none:
      return "open";
    case SocketStep::socket:
      return "socket";
    case SocketStep::option:
      return "setsockopt";
    case SocketStep::bind:
      return "bind";
    case SocketStep::listen:
      return "listen";
    case SocketStep::unlink:
      return "unlink";
    case SocketStep::identity:
      return "switch to the app's user for";
    case SocketStep::hand_over:
      return "receive the socket bound for";
  }
  return "open";
}

const char* SocketPlan::unix_path() const { return reinterpret_cast<const sockaddr_un*>(&address)->sun_path; }

SocketOutcome remove_socket_file(const SocketPlan& plan) {
  struct stat st {};
  if (::lstat(plan.unix_path(), &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  if (::unlink(plan.unix_path()) != 0 && errno != ENOENT) return {errno, SocketStep::unlink};
  return {};
}

int unix_plan(const char* path, std::size_t length, SocketPlan& plan) {
  auto* addr = reinterpret_cast<sockaddr_un*>(&plan.address);
  if (length == 0) return EINVAL;
  if (length >= sizeof addr->sun_path) return ENAMETOOLONG;
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path, length);
  plan.family = AF_UNIX;
  plan.type = SOCK_STREAM;
  plan.address_length = sizeof(sockaddr_un);
  return 0;
}

SocketOutcome create_socket(const SocketPlan& plan, int* fd_out) {
  if (plan.is_unix() && plan.remove_stale) {
    if (auto stale = remove_stale_socket(plan); stale.error != 0) return stale;
  }
  UniqueFd fd(::socket(plan.family, plan.type | SOCK_CLOEXEC | (plan.nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!fd) return {errno, SocketStep::socket};
  if (plan.reuse_address && !set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1)) return {errno, SocketStep::option};
  if (plan.reuse_port && !set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1)) return {errno, SocketStep::option};
  if (plan.family == AF_INET6 && !set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, plan.ipv6_only ? 1 : 0)) {
    return {errno, SocketStep::option};
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&plan.address), plan.address_length) != 0) {
    return {errno, SocketStep::bind};
  }
  if (plan.listen && ::listen(fd.get(), plan.backlog > 0 ? plan.backlog : 511) != 0) {
    return {errno, SocketStep::listen};
  }
  *fd_out = fd.release();
  return {};
}

}  // namespace drove::cluster
