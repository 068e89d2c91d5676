// Bounds on JSON that comes from outside the daemon (control socket lines, apps' IPC messages,
// ecosystem files, node's output for .js configs). nlohmann's DOM copy, dump and comparison
// recurse once per nesting level, so a 132 KB line of '[' used to overflow the stack; a linear
// pre-scan refuses such text before any tree is built. Pure: unit-tested alone.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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

// The integer `v` holds, as T, when it is one T can represent: an integer in T's range, or a
// whole float in it (JS sends 5 as 5 but may send 5e3). Anything else throws nlohmann's
// type_error/out_of_range, as get<T>() would for a string; get<T>() itself would cast 1e40 to
// an int, which is undefined behaviour (found by the ipc_channel fuzzer).
template <class T>
T json_integer(const nlohmann::json& v, const char* what) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  const auto out_of_range = [what] {
    return nlohmann::json::out_of_range::create(406, std::string(what) + ": number out of range",
                                                static_cast<const nlohmann::json*>(nullptr));
  };
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (!std::in_range<T>(u)) throw out_of_range();
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (!std::in_range<T>(i)) throw out_of_range();
    return static_cast<T>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // Bounds as doubles: T's max may not be representable, so compare against 2^digits.
    const double upper = std::ldexp(1.0, std::numeric_limits<T>::digits);
    const double lower = std::is_signed_v<T> ? -upper : 0.0;
    if (!std::isfinite(d) || d != std::floor(d) || d < lower || d >= upper) throw out_of_range();
    return static_cast<T>(d);
  }
  throw nlohmann::json::type_error::create(302, std::string(what) + ": type must be number, but is " + v.type_name(),
                                           static_cast<const nlohmann::json*>(nullptr));
}

}  // namespace drove
