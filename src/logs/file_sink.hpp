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
#include <span>
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

// Bytes of a request that are still at the head of a pipe (a copy of them is in `bytes`): the
// sink moves them from the pipe into the file with splice(2), so that taking them out of the pipe
// and writing them are one system call. A daemon killed at any instant has then either written
// them or left them in the pipe for its successor: output is logged exactly once.
struct SpliceRange {
  std::size_t begin = 0;  // offset in SinkRequest::bytes
  std::size_t size = 0;
  int source = -1;  // the pipe's read end, non-blocking, kept open by the caller for the job
};

struct SinkRequest {
  std::string_view bytes;                // complete lines (or capped/flushed partial lines), in order
  std::span<const SpliceRange> splices;  // ascending, non-overlapping parts of `bytes`
  bool reopen = false;                   // close and reopen by path (external logrotate moved the file)
  bool truncate = false;                 // `drove flush`
  bool rotate = false;                   // daily rotation due
  std::int64_t wall_ms = 0;              // for rotated names
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
  // Whether the file last opened is a regular file (not /dev/null, a fifo, a tty).
  [[nodiscard]] bool regular() const noexcept { return regular_; }

 private:
  Status open_as_owner();
  SinkOutcome run_as_owner(const SinkRequest& request);
  Status prune_as_owner() const;
  Status rotate(std::int64_t wall_ms, SinkOutcome& outcome);
  Status write_all(std::string_view bytes);
  // Writes bytes[offset, offset + piece.size()): spliced where a range says so, written otherwise.
  Status write_piece(const SinkRequest& request, std::size_t offset, std::string_view piece);
  // Moves `copy`'s bytes from the head of `source` into the file; adds what left the pipe to `taken`.
  Status splice_all(int source, std::string_view copy, std::size_t& taken);

  std::vector<std::size_t> spliced_;  // per range of the running request: bytes taken from its pipe
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
