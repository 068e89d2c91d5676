// LogFile: one log file on the event loop, shared by every stream that writes to its path.
//
// Writers append complete lines to `pending_`; at most one job is in flight on libuv's thread
// pool, writing the previous batch (`inflight_`) through the FileSink. Whatever arrives
// meanwhile coalesces into the next batch, so the disk sees large writes whatever the line rate,
// and writes, rotations, reopens and truncations happen strictly in arrival order.
//
// Lifetime: shared_ptr. Streams hold it while attached; a job in flight holds it too, so bytes
// already accepted are written even after their instance is gone. Compression of rotated files
// runs as separate pool jobs, one at a time per file, so a big gzip never delays writes.
//
// Failures never block an app: bytes that cannot be written are dropped, counted in stats() and
// reported to the daemon log (at most once per 10 s per file); every later batch tries again
// (reopening the file if its descriptor went bad).
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "logs/file_sink.hpp"
#include "logs/flow_control.hpp"
#include "logs/rotation.hpp"

namespace drove::logs {

struct WaterMarks {
  std::size_t high_bytes = std::size_t{4} << 20;  // pause the feeding pipes above this
  std::size_t low_bytes = std::size_t{1} << 20;   // resume them below this
};

class LogFile : public std::enable_shared_from_this<LogFile> {
 public:
  // Opens the file now (creating directories) so that a bad path is reported at attach time;
  // `open_error` receives the failure. The object is usable either way (it retries later).
  // Every file-system call for it runs with `owner`'s rights (safe_file.hpp).
  static std::shared_ptr<LogFile> create(uv_loop_t* loop, std::string path, RotationPolicy rotation, WaterMarks marks,
                                         std::optional<SysError>* open_error, FileOwner owner = {});
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile();

  // Queues bytes (complete lines) for writing.
  void append(std::string_view bytes);
  // Queues `read` (bytes already read, maybe none) and then, in the same write, bytes that are
  // still at the head of the pipe `source` (`spliced` is a copy of them): the write moves them
  // out of the pipe (SpliceRange, file_sink.hpp). Until they are written (when_written), whoever
  // feeds them must not read that pipe.
  void append_spliced(std::string_view read, std::string_view spliced, std::shared_ptr<const UniqueFd> source);
  // Total bytes ever appended; with when_written(), tells a stream its bytes reached the disk.
  [[nodiscard]] std::uint64_t appended_bytes() const noexcept { return appended_bytes_; }
  // Calls `done` once every byte appended before `mark` has been written (or dropped).
  void when_written(std::uint64_t mark, std::function<void()> done);

  void add_feeder(FlowControl* feeder);
  void remove_feeder(FlowControl* feeder);

  void request_reopen();
  void request_truncate();
  void request_rotate();  // no-op when the file has no rotation policy

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  // Whether the file was a regular file when created (peeking streams splice only into those).
  [[nodiscard]] bool regular() const noexcept { return regular_; }
  [[nodiscard]] const RotationPolicy& rotation() const noexcept { return rotation_; }
  [[nodiscard]] bool over_high_water() const noexcept { return over_high_water_; }
  // Streams currently appending to this file (several: merged instances, a combined log).
  [[nodiscard]] std::size_t writer_count() const noexcept { return feeders_.size(); }
  [[nodiscard]] std::size_t queued_bytes() const noexcept;
  [[nodiscard]] nlohmann::json stats() const;

 private:
  struct PrivateTag {};

 public:
  LogFile(PrivateTag, uv_loop_t* loop, std::string path, RotationPolicy rotation, WaterMarks marks, FileOwner owner);

 private:
  struct CompressJob;

  void maybe_start_job();
  void on_job_done();
  void update_pressure();
  void record_failure(const SysError& error, std::uint64_t dropped);
  void maybe_start_compression();
  void notify_waiters();

  uv_loop_t* loop_;
  std::string path_;
  RotationPolicy rotation_;
  WaterMarks marks_;
  FileSink sink_;  // touched by the pool thread while job_in_flight_
  bool regular_ = false;

  struct Splice {
    SpliceRange range;
    std::shared_ptr<const UniqueFd> source;  // open until the job is done
  };
  std::string pending_;
  std::string inflight_;
  std::vector<Splice> pending_splices_;
  std::vector<Splice> inflight_splices_;
  std::vector<SpliceRange> inflight_ranges_;
  bool job_in_flight_ = false;
  bool reopen_requested_ = false;
  bool truncate_requested_ = false;
  bool rotate_requested_ = false;
  uv_work_t job_{};
  SinkRequest request_;
  SinkOutcome outcome_;
  std::shared_ptr<LogFile> job_keepalive_;

  std::deque<std::string> compress_queue_;
  bool compress_in_flight_ = false;

  std::vector<FlowControl*> feeders_;
  bool over_high_water_ = false;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiters_;

  std::uint64_t appended_bytes_ = 0;
  std::uint64_t settled_bytes_ = 0;  // written or dropped
  std::uint64_t bytes_written_ = 0;
  std::uint64_t lines_written_ = 0;
  std::uint64_t bytes_dropped_ = 0;
  std::uint64_t rotations_ = 0;
  std::uint64_t pauses_ = 0;
  std::optional<SysError> last_error_;
  bool failing_ = false;
  std::int64_t last_report_ms_ = 0;
  std::uint64_t dropped_since_report_ = 0;
};

}  // namespace drove::logs
