// Fuzz target: the unit parsers of ecosystem values and flags (config/units): sizes ("500M"),
// durations ("10s") and shell-like argument splitting.
// Oracles: sizes and durations are never negative; re-joining split words with single quotes
// (escaping quotes) splits back to the same words.
#include <string>

#include "config/units.hpp"
#include "fuzz_support.hpp"

namespace {

std::string quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  namespace config = drove::config;
  if (auto bytes = config::parse_size(text)) drove::fuzz::check(*bytes >= 0, "negative size");
  if (auto ms = config::parse_duration_ms(text)) drove::fuzz::check(*ms >= 0, "negative duration");
  if (auto words = config::shell_split(text)) {
    std::string joined;
    for (const auto& w : *words) joined += (joined.empty() ? "" : " ") + quote(w);
    const auto again = config::shell_split(joined);
    drove::fuzz::check(again.has_value() && *again == *words, "shell_split does not round-trip");
  }
  return 0;
}
