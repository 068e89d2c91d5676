// PM2's saved process list (~/.pm2/dump.pm2: a JSON array of pm2_env objects, one per process)
// read as an ecosystem document, so `drove resurrect` takes over a PM2 user's saved apps.
#pragma once

#include <nlohmann/json.hpp>

namespace drove::config {

// Whether `dump` has PM2's shape (an array of objects), not drove's ({"apps": [...]}).
bool is_pm2_dump(const nlohmann::json& dump);

// {"apps": [...]} in ecosystem-file keys: entries grouped by name in order of appearance (how
// many entries a name has is its `instances`), PM2's runtime keys mapped back to the options
// they came from (pm_exec_path → script, pm_cwd → cwd, exec_interpreter → interpreter,
// node_args, exec_mode "cluster_mode" → "cluster", pm_out_log_path → out_file, ...), keys that
// are state or PM2's bookkeeping (status, pm_id, restart_time, axm_*, the flattened env) left
// out, and an app whose processes were all stopped saved with "autostart": false.
nlohmann::json pm2_dump_as_ecosystem(const nlohmann::json& dump);

}  // namespace drove::config
