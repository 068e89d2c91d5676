// Node's util.inspect(value, false, null, false) for JSON data: what `pm2 prettylist` prints
// (PM2 writes util.inspect of its list). The layout rules are Node 20's
// (lib/internal/util/inspect.js): compact 3, breakLength 80 (util.inspect.defaultOptions), arrays of more than six
// entries grouped in columns, at most 100 array items shown, keys quoted only when they are not identifiers, strings in
// single quotes unless they contain one.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace drove::cli {

// `value` keeps its objects' key order (ordered_json, as JSON.parse does; integer-like keys
// are moved first, as JavaScript orders them).
std::string node_inspect(const nlohmann::ordered_json& value);

}  // namespace drove::cli
