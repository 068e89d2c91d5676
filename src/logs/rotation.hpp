// Rotation policy and the naming of rotated files (pure; the renames happen in file_sink.cpp).
//
// Scheme (pm2-logrotate's): `/logs/api-out.log` rotates to
// `/logs/api-out__2024-05-01_13-45-07.log` (local time of the rotation), gzipped to
// `...log.gz` when `compress` is on. Two rotations within one second get `_1`, `_2`, ... before
// the extension. Names never shift, so an external reader never sees a file change its name
// twice, and nothing is renamed but the live file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drove::logs {

struct RotationPolicy {
  std::uint64_t max_size_bytes = 0;  // rotate before a write would pass this; 0 = never by size
  bool daily = false;                // rotate at local midnight
  int retain = 0;                    // rotated files kept (compressed or not); 0 = keep all
  bool compress = false;             // gzip rotated files (off the event loop)

  [[nodiscard]] bool enabled() const noexcept { return max_size_bytes > 0 || daily; }
};

// The name a live file gets when rotated at `wall_ms`; `sequence` > 0 disambiguates.
std::string rotated_path(std::string_view live_path, std::int64_t wall_ms, int utc_offset_minutes, int sequence);

// A rotated sibling of a live file, recognised by name.
struct RotatedFile {
  std::string file_name;  // in the live file's directory
  std::string stamp;      // "2024-05-01_13-45-07"
  int sequence = 0;
  bool compressed = false;
};
std::optional<RotatedFile> parse_rotated_name(std::string_view live_file_name, std::string_view candidate);

// Of `directory_entries` (file names), those to delete so that at most `retain` rotations of
// `live_file_name` remain, oldest first. A rotation counts once even while both its `.log` and
// its `.log.gz` exist (during compression). retain == 0 keeps everything.
std::vector<std::string> rotated_files_to_delete(std::string_view live_file_name,
                                                 const std::vector<std::string>& directory_entries, int retain);

// Milliseconds from `wall_ms` to the next local midnight (at least 1).
std::int64_t ms_until_next_local_midnight(std::int64_t wall_ms);

}  // namespace drove::logs
