// Where an instance's output and pid go: log path naming (PM2's `<name>-out.log`, with `-<id>`
// per instance unless merged), the descriptors handed to the child, and its pid file.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "config/app_spec.hpp"
#include "supervisor/instance.hpp"

namespace drove::supervisor {

// `name` made safe as a file name component ('/' and NUL replaced).
std::string file_safe_name(const std::string& name);

// The log path for one stream: `configured` if set (with "-<id>" before the extension when
// per_instance), else `<logs_dir>/<name>-<kind>[-<id>].log`.
std::string log_path_for(const std::string& configured, const std::string& logs_dir, const std::string& name,
                         const std::string& kind, bool per_instance, int id);

struct Outputs {
  UniqueFd out;
  UniqueFd err;
};

// Opens (creating missing directories) the descriptors the child writes to.
Result<Outputs> open_outputs(const Instance& instance, const AppSpec& spec);
// Leaves a line in the error log saying why the app could not start.
void write_start_failure(const Outputs& outputs, const std::string& message);

void write_pid_file(const std::string& path, pid_t pid);
void remove_pid_file(const std::string& path);

// mkdir -p for the directory part of `path`.
Status make_parent_dirs(const std::string& path);

}  // namespace drove::supervisor
