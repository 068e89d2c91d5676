#include "supervisor/output_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/clock.hpp"

namespace drove::supervisor {

std::string file_safe_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c == '/' || c == '\0') c = '_';
  }
  return out;
}

std::string log_path_for(const std::string& configured, const std::string& logs_dir, const std::string& name,
                         const std::string& kind, bool per_instance, int id) {
  const std::string suffix = per_instance ? "-" + std::to_string(id) : "";
  if (configured.empty()) return logs_dir + "/" + file_safe_name(name) + "-" + kind + suffix + ".log";
  if (!per_instance || configured == "/dev/null") return configured;
  const auto slash = configured.rfind('/');
  const auto dot = configured.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return configured + suffix;
  return configured.substr(0, dot) + suffix + configured.substr(dot);
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

namespace {

Result<UniqueFd> open_log(const std::string& path) {
  if (auto dirs = make_parent_dirs(path); !dirs.ok()) return dirs.error();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return last_error("open log file \"" + path + "\"");
  return fd;
}

}  // namespace

Result<Outputs> open_outputs(const Instance& instance, const AppSpec& spec) {
  Outputs outputs;
  const bool discard = spec.disable_logs;
  auto out = open_log(discard ? "/dev/null" : instance.out_log_path);
  if (!out.ok()) return out.error();
  auto err = open_log(discard ? "/dev/null" : instance.err_log_path);
  if (!err.ok()) return err.error();
  outputs.out = std::move(out.value());
  outputs.err = std::move(err.value());
  return outputs;
}

void write_start_failure(const Outputs& outputs, const std::string& message) {
  const std::string line = "[drove] failed to start: " + message + "\n";
  ssize_t ignored = ::write(outputs.err.get(), line.data(), line.size());
  (void)ignored;
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
