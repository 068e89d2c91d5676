// Instances on the wire (docs/rpc.md, "list" and "describe"): the one mapping of ProcessView
// (supervisor/process_view.hpp) to JSON, and the replies built from it.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "supervisor/process_view.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::daemon {

// Log file path → that file's stats (bytes written, dropped...), taken once per request.
using LogFileStats = std::map<std::string, nlohmann::json>;

nlohmann::json row_json(const supervisor::ProcessView& view);   // the table's columns
nlohmann::json view_json(const supervisor::ProcessView& view);  // the row and the description

// An autoscaled app's settings, last signal and decisions (null for other apps).
nlohmann::json autoscaling_json(const supervisor::App& app);

[[nodiscard]] LogFileStats log_file_stats(const supervisor::Supervisor& supervisor);

// `describe` of one instance: its view, the messages it sent last, and, `with_app`, its app's
// spec, log files and cluster (list_shared_json() sends those once per app instead).
nlohmann::json describe_json(const supervisor::Supervisor& supervisor, const supervisor::Instance& instance,
                             const LogFileStats& log_files, bool with_app = true);

// `list`: the rows, or (`full`) every instance described.
// `history`: each entry also gets its CPU and memory of the last minutes (history_json).
nlohmann::json list_json(const supervisor::Supervisor& supervisor, bool full, bool history = false);
// {"interval_ms", "end" (wall ms of the last sample), "cpu": [%...], "memory": [bytes...]}, oldest first.
nlohmann::json history_json(const supervisor::ResourceHistory& history, std::int64_t interval_ms);

// `list` for jlist/prettylist: {"apps": [{spec, cluster}...], "processes": [... "app": i],
// "log_files": [stats...]}. Each app's spec (its env above all) is sent once, not once per
// instance: at 1,000 instances of one app the reply is ~20 times smaller and built ~20 times faster.
nlohmann::json list_shared_json(const supervisor::Supervisor& supervisor);

}  // namespace drove::daemon
