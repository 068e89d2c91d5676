// The files an instance leaves besides its logs (pid file, start-failure line); see
// output_files.hpp.
#include "supervisor/output_files.hpp"

#include "base/log.hpp"

#include <unistd.h>

#include <cctype>
#include <string>

namespace drove::supervisor {

std::string file_safe_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  }
  return out;
}

Status make_parent_dirs(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Ok{};
  auto dir = open_directory(path.substr(0, slash), true);
  if (!dir) return SysError{dir.error().code, "create log directory: " + dir.error().context};
  return Ok{};
}

void write_start_failure(const std::string& err_log_path, const std::string& message, const FileOwner& owner) {
  if (err_log_path.empty()) return;
  const FsIdentity as_owner(owner);
  auto opened = open_for_append(err_log_path, 0644);
  if (!opened) return;
  const std::string line = "[drove] failed to start: " + message + "\n";
  ssize_t ignored = ::write(opened->fd.get(), line.data(), line.size());
  (void)ignored;
}

void write_pid_file(const std::string& path, pid_t pid, const FileOwner& owner) {
  if (path.empty()) return;
  const FsIdentity as_owner(owner);
  if (auto written = write_file_atomically(path, std::to_string(pid), 0644, false); !written) {
    log_warn("pid file: {}", written.error().message());
  }
}

void remove_pid_file(const std::string& path, const FileOwner& owner) {
  if (path.empty()) return;
  const FsIdentity as_owner(owner);
  if (auto removed = remove_file(path); !removed) log_warn("pid file: {}", removed.error().message());
}

}  // namespace drove::supervisor
