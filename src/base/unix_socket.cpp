#include "base/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace drove {

bool path_fits_unix_socket(const std::string& path) { return path.size() < sizeof(sockaddr_un::sun_path); }

UniqueFd connect_unix(const std::string& path) {
  if (!path_fits_unix_socket(path)) return {};
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

}  // namespace drove
