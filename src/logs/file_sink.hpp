// FileSink: the blocking half of a log file. Opening (with mkdir -p), appending, size and
// daily rotation, retention, truncation and reopening, all with plain system calls. Every
// file-system call runs with the rights of the file's owner (the app's user, when it has one)
// and opens through base/safe_file.hpp, so no symlink or hard link can redirect it.
//
// Threading: a FileSink belongs to its LogFile (log_file.hpp), which hands it to libuv's thread
// pool for one job at a time; the loop thread touches it only while no job is in flight. So its
// calls may block as long as the disk likes without ever stalling the daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/safe_file.hpp"
#include "base/unique_fd.hpp"
#include "logs/rotation.hpp"

namespace drove::logs {

// Creates `dir` and its missing parents (mode 0755), like mkdir -p, without following untrusted
// symlinks (safe_file.hpp).
Status make_directories(const std::string& dir);

struct SinkRequest {
  std::string_view bytes;    // complete lines (or capped/flushed partial lines), in order
  bool reopen = false;       // close and reopen by path (external logrotate moved the file)
  bool truncate = false;     // `drove flush`
  bool rotate = false;       // daily rotation due
  std::int64_t wall_ms = 0;  // for rotated names
};

struct SinkOutcome {
  std::uint64_t bytes_written = 0;
  std::uint64_t lines_written = 0;
  std::uint64_t bytes_dropped = 0;         // could not be written; lost and accounted
  std::optional<SysError> error;           // the last failure, if any
  std::vector<std::string> rotated_paths;  // files rotated away during this job, in order
};

class FileSink {
 public:
  FileSink(std::string path, RotationPolicy rotation, FileOwner owner = {});

  // Opens the file for appending, creating missing directories.
  Status open();
  // Performs one job: the flags first (reopen, truncate, rotate), then the bytes, rotating by
  // size at line boundaries. Never throws; failures are in the outcome.
  SinkOutcome run(const SinkRequest& request);
  // Deletes rotated files beyond the policy's retain count.
  Status prune_rotated() const;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const RotationPolicy& rotation() const noexcept { return rotation_; }
  [[nodiscard]] const FileOwner& owner() const noexcept { return owner_; }

 private:
  Status open_as_owner();
  SinkOutcome run_as_owner(const SinkRequest& request);
  Status prune_as_owner() const;
  Status rotate(std::int64_t wall_ms, SinkOutcome& outcome);
  Status write_all(std::string_view bytes);

  std::string path_;
  RotationPolicy rotation_;
  FileOwner owner_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  bool regular_ = false;  // only regular files rotate (/dev/null, fifos, ttys never)
  std::int64_t last_rotation_second_ = -1;
  int last_sequence_ = 0;
};

}  // namespace drove::logs
