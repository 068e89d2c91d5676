// The files an instance leaves besides its logs: its pid file, and the line in its error log
// that says why it could not start. (Its output goes through src/logs.)
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.hpp"
#include "base/safe_file.hpp"

namespace drove::supervisor {

// `name` made safe as a file name component.
std::string file_safe_name(const std::string& name);

// All of them are made with `owner`'s rights (the app's user) and never through a symlink
// another user planted (base/safe_file.hpp).

// Appends "[drove] failed to start: <message>" to the instance's error log.
void write_start_failure(const std::string& err_log_path, const std::string& message, const FileOwner& owner);

// Written whole to a unique temporary file, renamed over `path`.
void write_pid_file(const std::string& path, pid_t pid, const FileOwner& owner);
void remove_pid_file(const std::string& path, const FileOwner& owner);

// mkdir -p for the directory part of `path`.
Status make_parent_dirs(const std::string& path);

}  // namespace drove::supervisor
