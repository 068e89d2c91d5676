// The files an instance leaves besides its logs: its pid file, and the line in its error log
// that says why it could not start. (Its output goes through src/logs.)
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.hpp"

namespace drove::supervisor {

// `name` made safe as a file name component.
std::string file_safe_name(const std::string& name);

// Appends "[drove] failed to start: <message>" to the instance's error log.
void write_start_failure(const std::string& err_log_path, const std::string& message);

void write_pid_file(const std::string& path, pid_t pid);
void remove_pid_file(const std::string& path);

// mkdir -p for the directory part of `path`.
Status make_parent_dirs(const std::string& path);

}  // namespace drove::supervisor
