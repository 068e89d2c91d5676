// Connecting to a local (unix stream) socket: the CLI to the daemon, a starting daemon probing
// whether another one already answers.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "base/unique_fd.hpp"

namespace drove {

// A connected socket, or an invalid UniqueFd when nothing accepts at `path` (or it is too long
// for sun_path: check path_fits_unix_socket first to tell the two apart).
UniqueFd connect_unix(const std::string& path);
bool path_fits_unix_socket(const std::string& path);

// One sendmsg(2) of `size` bytes carrying `fd` (SCM_RIGHTS) when fd >= 0; MSG_NOSIGNAL, retried
// on EINTR. Allocates nothing: safe between fork and exec (the bind helper's child).
ssize_t send_with_fd(int sock, const void* data, std::size_t size, int fd);

}  // namespace drove
