#include "state/home.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace drove::state {
namespace {

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Ok{};
  return last_error("create \"" + path + "\"");
}

}  // namespace

Status prepare_home(const HomeLayout& home) {
  // Parents of the home may be missing (DROVE_HOME=/tmp/x/y): create them like mkdir -p.
  for (size_t slash = home.root.find('/', 1); slash != std::string::npos; slash = home.root.find('/', slash + 1)) {
    if (auto s = make_dir(home.root.substr(0, slash), 0755); !s.ok()) return s;
  }
  if (auto s = make_dir(home.root, 0700); !s.ok()) return s;
  struct stat st {};
  if (::stat(home.root.c_str(), &st) != 0) return last_error("stat \"" + home.root + "\"");
  if (!S_ISDIR(st.st_mode)) return SysError{ENOTDIR, "DROVE_HOME \"" + home.root + "\""};
  if (st.st_uid != ::geteuid()) return SysError{EPERM, "DROVE_HOME \"" + home.root + "\" belongs to another user"};
  if ((st.st_mode & 077) != 0 && ::chmod(home.root.c_str(), 0700) != 0)
    return last_error("chmod 0700 \"" + home.root + "\"");
  if (::access(home.root.c_str(), W_OK | X_OK) != 0)
    return last_error("DROVE_HOME \"" + home.root + "\" is not writable");
  if (auto s = make_dir(home.logs_dir(), 0755); !s.ok()) return s;
  if (auto s = make_dir(home.pids_dir(), 0755); !s.ok()) return s;
  return Ok{};
}

}  // namespace drove::state
