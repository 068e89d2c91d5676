// Inputs that crash drove through bugs owned by another change (issue #12's parser limits:
// JSON nesting depth, YAML self-referencing aliases, alias blow-up), which would otherwise stop
// every fuzz run at the first such input instead of letting the targets look for other bugs.
// The crashing inputs themselves are kept in tests/fuzz/known/. Once those limits are in the
// engine, build with -DDROVE_FUZZ_NO_KNOWN_FILTER (or delete this file's uses) and the targets
// must still pass.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string_view>

namespace drove::fuzz {

#ifndef DROVE_FUZZ_NO_KNOWN_FILTER
inline constexpr bool kFilterKnownIssues = true;
#else
inline constexpr bool kFilterKnownIssues = false;
#endif

// Bracket nesting deeper than `limit`, strings ignored (a conservative approximation).
inline bool json_nesting_exceeds(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

namespace detail {
// False when the node graph is deeper than `depth` (a self-referencing alias is infinitely
// deep) or has more than `budget` nodes once aliases are expanded.
inline bool yaml_walk_bounded(const YAML::Node& node, int depth, long& budget) {
  if (--budget < 0 || depth < 0) return false;
  if (node.IsSequence() || node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (node.IsMap()) {
        if (!yaml_walk_bounded(it->first, depth - 1, budget)) return false;
        if (!yaml_walk_bounded(it->second, depth - 1, budget)) return false;
      } else if (!yaml_walk_bounded(*it, depth - 1, budget)) {
        return false;
      }
    }
  }
  return true;
}
}  // namespace detail

// True for YAML whose aliases recurse or expand beyond reason.
inline bool yaml_graph_unbounded(const std::string& text) {
  try {
    const YAML::Node root = YAML::Load(text);
    long budget = 100000;
    return !detail::yaml_walk_bounded(root, 100, budget);
  } catch (const YAML::Exception&) {
    return false;  // the real parser reports it
  }
}

}  // namespace drove::fuzz
