// The daemon's own diagnostic log: one timestamped line per event on stderr (which the detached
// daemon points at $DROVE_HOME/drove.log). Apps' output never goes here; that is src/logs/.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace drove {

enum class LogLevel { debug, info, warn, error };

void write_diagnostic(LogLevel level, std::string_view text);

// Lines below `level` are not written. The fuzz targets raise it past error so that libFuzzer's
// own report (why an input crashed) is what stderr shows.
void set_diagnostic_threshold(int level);

template <class... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  write_diagnostic(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  write_diagnostic(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  write_diagnostic(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace drove
