// App metrics without a wrapper: what PM2's @pm2/io (and the older pmx) sends over the IPC
// channel, kept per process as PM2 keeps them in pm2_env.axm_monitor / axm_actions.
//
//   process.send({type: 'axm:monitor', data: {'<name>': {value, unit, type, historic}, ...}})
//   process.send({type: 'axm:action', data: {action_name, action_type, arity, opts}})
//
// @pm2/io sends axm:monitor every second with every metric (io.metric, counter, meter,
// histogram); PM2 merges each message into the last (Object.assign). An app is not trusted:
// names, values and counts are bounded, and a message that is not of this shape is refused with
// a reason (counted as a dropped message). Pure: unit-tested alone.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace drove::supervisor {

inline constexpr std::size_t kMaxAppMetrics = 64;
inline constexpr std::size_t kMaxAppActions = 32;
inline constexpr std::size_t kMaxMetricNameBytes = 128;
inline constexpr std::size_t kMaxMetricTextBytes = 256;  // a string value, a unit, a type

// Whether `message` is one of @pm2/io's (an object whose "type" starts with "axm:").
bool is_axm_message(const nlohmann::json& message);

// Merges an axm:monitor payload into `metrics` (an object, PM2's axm_monitor shape). Returns
// why it was refused (nothing merged), or nullopt.
std::optional<std::string> merge_axm_monitor(nlohmann::json& metrics, const nlohmann::json& data);

// Adds (or replaces, by name) an axm:action declaration to `actions` (an array).
std::optional<std::string> add_axm_action(nlohmann::json& actions, const nlohmann::json& data);

}  // namespace drove::supervisor
