// LogManager: the daemon's log engine (one per daemon, on the daemon's uv_loop).
//
// attach() starts draining one instance's stdout/stderr pipes into its log files. Files are
// shared by path: every instance writing `api-out.log` (fork-mode merge_logs) appends to the
// same LogFile, whole lines at a time, so lines never interleave. Writing happens on libuv's
// thread pool (log_file.hpp); a file whose queue exceeds the high-water mark pauses the pipes
// that feed it (back-pressure, not loss). See docs/logs.md for naming, rotation and accounting.
//
// Lifetime: the manager must outlive the InstanceOutputs it returned and keep its loop running
// until they are drained; files finish their queued writes on their own.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "logs/instance_output.hpp"
#include "logs/log_file.hpp"
#include "logs/output_spec.hpp"
#include "logs/output_stream.hpp"
#include "logs/subscribers.hpp"

namespace drove::logs {

struct LogManagerOptions {
  WaterMarks water_marks;
  PartialFlushTiming partial_flush;
  std::size_t partial_cap_bytes = LineFramer::kDefaultPartialCapBytes;
  std::size_t read_chunk_bytes = std::size_t{64} << 10;
};

class LogManager {
 public:
  explicit LogManager(uv_loop_t* loop, LogManagerOptions options = {});
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;
  ~LogManager();

  // Starts draining one process's pipes (our read ends; made non-blocking here). Never fails:
  // a file that cannot be opened is reported by InstanceOutput::open_error(), in stats() and in
  // the daemon log; its bytes are counted as dropped and opening is retried on later writes.
  std::unique_ptr<InstanceOutput> attach(const OutputSpec& spec, UniqueFd stdout_read, UniqueFd stderr_read);

  // Live lines (every line, and partial-line flushes) for `drove logs`. Callbacks run on the
  // loop and must not block or destroy InstanceOutputs synchronously.
  int subscribe(std::function<void(const LogLine&)> callback);
  void unsubscribe(int token);
  // A subscriber that falls behind pauses every app's pipe (back-pressure; subscribers.hpp).
  void set_subscriber_pressure(bool on) { subscribers_->set_pressure(on); }
  [[nodiscard]] bool subscribers_under_pressure() const { return subscribers_->under_pressure(); }
  [[nodiscard]] std::size_t subscriber_count() const { return subscribers_->size(); }

  // `drove reloadLogs` / SIGUSR2: every open file is closed and reopened by path, between two
  // writes (for an external logrotate that renamed the files).
  Status reopen_all();
  // `drove flush`: truncates those files. Open files are truncated between two writes, on the
  // descriptor already open (never a path looked up again); files no instance has open are
  // truncated now with `owner`'s rights, never through a symlink (missing ones are ignored).
  // Returns the first failure.
  Status flush(const std::vector<std::string>& paths, const FileOwner& owner = {});
  // Rotates every file with a rotation policy now (what the midnight timer does for `daily`).
  void rotate_all();
  // Calls `done` (on the loop) once every byte appended to any log file so far is written (or
  // dropped): `drove update` hands over only after that, so no line read is lost.
  void when_all_written(std::function<void()> done);

  // {"files":[{path, bytes_written, lines_written, bytes_dropped, queued_bytes, ...}], "subscribers":n}
  [[nodiscard]] nlohmann::json stats() const;

 private:
  std::shared_ptr<LogFile> file_for(const std::string& path, const RotationPolicy& rotation, const FileOwner& owner,
                                    std::optional<SysError>& open_error);
  std::vector<std::shared_ptr<LogFile>> live_files() const;
  void arm_midnight_timer();

  uv_loop_t* loop_;
  LogManagerOptions options_;
  ReadBuffer read_buffer_;
  std::shared_ptr<Subscribers> subscribers_ = std::make_shared<Subscribers>();
  // Files by path; an entry lives as long as a stream or an unfinished write holds the file.
  mutable std::unordered_map<std::string, std::weak_ptr<LogFile>> files_;
  UvHandle<uv_timer_t> midnight_timer_;
};

}  // namespace drove::logs
