#include "supervisor/output_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <string>

#include "base/unique_fd.hpp"

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
  const std::string dir = path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Ok{};
    return SysError{ENOTDIR, "create log directory \"" + dir + "\""};
  }
  if (auto parent = make_parent_dirs(dir); !parent.ok()) return parent;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return last_error("create log directory \"" + dir + "\"");
  return Ok{};
}

void write_start_failure(const std::string& err_log_path, const std::string& message) {
  if (err_log_path.empty() || !make_parent_dirs(err_log_path).ok()) return;
  UniqueFd fd(::open(err_log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  const std::string line = "[drove] failed to start: " + message + "\n";
  if (fd) {
    ssize_t ignored = ::write(fd.get(), line.data(), line.size());
    (void)ignored;
  }
}

void write_pid_file(const std::string& path, pid_t pid) {
  if (!make_parent_dirs(path).ok()) return;
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return;
  const std::string text = std::to_string(pid);
  if (::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size())) ::rename(tmp.c_str(), path.c_str());
}

void remove_pid_file(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace drove::supervisor
