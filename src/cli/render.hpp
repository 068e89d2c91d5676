// What the CLI prints: the `list` table (PM2's columns, colour on a terminal only), the
// PM2-shaped `jlist` JSON, and `describe`. The daemon's own model is mapped to PM2's shape
// here, at the edge, and nowhere else.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace drove::cli {

std::string render_table(const nlohmann::json& processes, bool colour);
// `list_reply` is either an array of described processes (each with its "spec") or the
// daemon's shared shape {"apps": [{spec}...], "processes": [{..., "app": i}...]}.
nlohmann::json to_pm2_jlist(const nlohmann::json& list_reply);
// The same as to_pm2_jlist(list_reply).dump(), built without copying each app's env into every
// one of its instances first: each env is dumped once and pasted (1,000 instances: ~10x faster).
std::string pm2_jlist_text(const nlohmann::json& list_reply);
std::string render_describe(const nlohmann::json& process, bool colour);

// `drove --version`: this binary's version, then the running daemon's (when one runs), and
// what to do when they differ (after an upgrade the old daemon keeps running until replaced).
std::string render_versions(const std::string& cli_version, const nlohmann::json& daemon_ping);
// The difference alone ("" when the versions agree).
std::string version_mismatch(const std::string& cli_version, const nlohmann::json& daemon_ping);

std::string format_bytes(std::uint64_t bytes);       // "31.2mb", as PM2
std::string format_uptime(std::int64_t ms);          // "12s", "5m", "3h", "2D"
std::string format_duration_short(std::int64_t ms);  // "350 ms" under a second, else format_uptime

}  // namespace drove::cli
