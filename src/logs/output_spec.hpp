// What the supervisor tells the log engine about one instance's output, and what subscribers
// receive. Paths are resolved by the caller (naming: docs/logs.md).
#pragma once

#include <cstdint>
#include <string>

#include "base/safe_file.hpp"
#include "logs/rotation.hpp"

namespace drove::logs {

struct OutputSpec {
  std::string app_name;
  int instance_id = 0;
  std::string out_path;       // absolute; "" or "/dev/null" = discard stdout
  std::string err_path;       // absolute; "" or "/dev/null" = discard stderr
  std::string combined_path;  // "" = none; gets both streams (PM2's `log_file`)
  bool disable = false;       // discard everything, publish nothing (pipes are still drained)
  bool time = false;          // prefix lines with "<timestamp>: "
  std::string date_format;    // dayjs tokens; "" with time = "YYYY-MM-DDTHH:mm:ss"
  bool json = false;          // one JSON object per line (takes precedence over `time`)
  RotationPolicy rotation;    // applies to every file this instance opens first (see docs)
  FileOwner owner;            // the app's user: files and directories are made with its rights,
  std::string daemon_dir;     // except under this one (the daemon's own logs dir, "" = none),
                              // which only the daemon's user can write

  // Whose rights open `path`.
  [[nodiscard]] FileOwner owner_for(const std::string& path) const {
    const bool own = !daemon_dir.empty() && path.size() > daemon_dir.size() &&
                     path.compare(0, daemon_dir.size(), daemon_dir) == 0 && path[daemon_dir.size()] == '/';
    return own ? FileOwner{} : owner;
  }
};

// One line (or partial-line flush) as `drove logs` streams it.
struct LogLine {
  std::string app_name;
  int instance_id = 0;
  bool is_err = false;
  std::string text;               // without newline and without prefix
  std::int64_t timestamp_ms = 0;  // wall time its first byte was read
  bool partial = false;           // flushed before its newline arrived (the rest follows unprefixed)
};

}  // namespace drove::logs
