#include "cluster/socket_census.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "base/unique_fd.hpp"

namespace drove::cluster {
namespace {

// Every TCP state but LISTEN: the listening sockets are the primary's own.
constexpr unsigned kStates = ((1u << 12) - 1) & ~(1u << TCP_LISTEN);

Status dump_family(int sock, int family, const std::vector<int>& ports, std::unordered_set<ino_t>& out) {
  struct Request {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.header.nlmsg_seq = static_cast<unsigned>(family);
  request.body.sdiag_family = static_cast<std::uint8_t>(family);
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.idiag_states = kStates;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return last_error("sock_diag request");
  }
  alignas(nlmsghdr) std::array<char, 32768> buffer{};
  for (;;) {
    const ssize_t n = ::recv(sock, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error("sock_diag reply");
    }
    // NLMSG_OK/NLMSG_NEXT spelled out: the macros use C casts.
    std::size_t offset = 0;
    const auto total = static_cast<std::size_t>(n);
    while (offset + sizeof(nlmsghdr) <= total) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(buffer.data() + offset);
      if (h->nlmsg_len < sizeof(nlmsghdr) || offset + h->nlmsg_len > total) break;
      const char* payload = buffer.data() + offset + NLMSG_HDRLEN;
      if (h->nlmsg_type == NLMSG_DONE) return Ok{};
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* err = reinterpret_cast<const nlmsgerr*>(payload);
        return SysError{-err->error, "sock_diag dump"};
      }
      const auto* msg = reinterpret_cast<const inet_diag_msg*>(payload);
      const int port = ntohs(msg->id.idiag_sport);
      if (msg->idiag_inode != 0 && std::find(ports.begin(), ports.end(), port) != ports.end()) {
        out.insert(static_cast<ino_t>(msg->idiag_inode));
      }
      offset += NLMSG_ALIGN(h->nlmsg_len);
    }
  }
}

}  // namespace

Result<std::unordered_set<ino_t>> live_tcp_inodes(const std::vector<int>& local_ports) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!sock) return last_error("socket NETLINK_SOCK_DIAG");
  timeval timeout{0, 50 * 1000};
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::unordered_set<ino_t> live;
  for (const int family : {AF_INET, AF_INET6}) {
    if (auto st = dump_family(sock.get(), family, local_ports, live); !st) return st.error();
  }
  return live;
}

}  // namespace drove::cluster
