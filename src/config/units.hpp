// Units PM2 users write in ecosystem files and flags: sizes ("500M"), durations ("10s"), and
// argument strings split the way a shell would. Pure functions; nullopt means "not valid".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace drove::config {

// Bytes from "1024", "10K", "500M", "1G" (also "500MB", "1.5G", lower case). K = 1024.
std::optional<std::int64_t> parse_size(const std::string& text);

// Milliseconds from "1500", "500ms", "10s", "2m", "1h", "1d" (also "1.5s").
std::optional<std::int64_t> parse_duration_ms(const std::string& text);

// Splits like sh: blanks separate words, '...' and "..." group, backslash escapes.
// nullopt when a quote is left open.
std::optional<std::vector<std::string>> shell_split(const std::string& text);

}  // namespace drove::config
