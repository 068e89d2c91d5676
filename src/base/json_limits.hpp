// Bounds on JSON that comes from outside the daemon (control socket lines, apps' IPC messages,
// ecosystem files, node's output for .js configs). nlohmann's DOM copy, dump and comparison
// recurse once per nesting level, so a 132 KB line of '[' used to overflow the stack; a linear
// pre-scan refuses such text before any tree is built. Pure: unit-tested alone.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace drove {

// Nesting (arrays and objects) accepted anywhere input enters; real requests, messages and
// configs stay under 10.
inline constexpr std::size_t kMaxJsonDepth = 64;

// The deepest nesting of '[' and '{' outside strings (and outside // and /* */ comments, which
// the config loader accepts), scanning no further than the first point where it passes
// `max_depth`. Linear in the text, no allocation.
std::size_t json_nesting_depth(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// The offset of the first '[' or '{' that opens level max_depth + 1, if any (for file:line).
std::optional<std::size_t> json_too_deep_at(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Parses `text` when it nests at most `max_depth` deep; otherwise (or on a syntax error) returns
// nullopt and sets `why` to a short reason ("nesting deeper than 64", "not JSON").
std::optional<nlohmann::json> parse_json_bounded(std::string_view text, std::string& why,
                                                 std::size_t max_depth = kMaxJsonDepth);

}  // namespace drove
