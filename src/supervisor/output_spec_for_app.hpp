// output_spec_for(): an AppSpec's log options, resolved for one instance (PM2's naming rules).
#pragma once

#include <string>

#include "config/app_spec.hpp"
#include "logs/output_spec.hpp"

namespace drove::supervisor {

// Defaults `<logs_dir>/<name>-out.log` and `<name>-error.log` (name with characters outside
// [A-Za-z0-9._-] replaced by '_'); without merge_logs every file gets `-<instance_id>` before its
// extension (`api-out-2.log`). "/dev/null" and "" are kept as they are (discard). An empty
// `logs_dir` means no default files (`drove runtime`: the apps' output goes to its stdout).
logs::OutputSpec output_spec_for(const AppSpec& app, int instance_id, const std::string& logs_dir);

// "/l/api-out.log", 2 -> "/l/api-out-2.log"; "/l/api" -> "/l/api-2".
std::string with_instance_suffix(const std::string& path, int instance_id);

}  // namespace drove::supervisor
