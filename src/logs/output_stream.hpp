// OutputStream: one stream (stdout or stderr) of one instance, from pipe to files.
//
// It reads the pipe (PipeReader), frames and renders lines (LineFramer), appends whole lines to
// each destination LogFile (its own, and the combined log if any), and publishes lines to live
// subscribers. It is the FlowControl its files pause when their queue is too long.
//
// A partial line is flushed when the stream has been quiet for `partial_idle_ms` or the partial
// line is older than `partial_max_age_ms`, never while reading is paused (the rest of the line
// may be in the pipe), and only when this stream is the sole writer of each of its files (in a
// shared file a fragment would let another writer's line in before its end).
//
// Exactly once: a raw stream that is the sole writer of its one regular file does not read its
// pipe. It peeks (PipeReader) and has the file's write move the bytes out of the pipe with
// splice(2) (LogFile::append_spliced), reading nothing more until then. The file then holds exactly the
// pipe's bytes, so where a line is cut does not matter, and a daemon killed at any instant has
// either written a byte or left it in the pipe for its successor (docs/architecture.md). Lines
// still go through the framer for live subscribers; their partial tail is then already in the
// file (`partial_in_file_`). Any other stream (timestamps, JSON, a combined or shared file)
// reads and renders as before.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "logs/flow_control.hpp"
#include "logs/line_framer.hpp"
#include "logs/log_file.hpp"
#include "logs/pipe_reader.hpp"
#include "logs/subscribers.hpp"

namespace drove::logs {

struct PartialFlushTiming {
  std::int64_t idle_ms = 100;
  std::int64_t max_age_ms = 1000;
};

struct StreamSetup {
  uv_loop_t* loop = nullptr;
  UniqueFd fd;
  ReadBuffer read_buffer;
  LineFormat format;
  std::size_t partial_cap_bytes = LineFramer::kDefaultPartialCapBytes;
  PartialFlushTiming timing;
  std::vector<std::shared_ptr<LogFile>> files;  // may be empty (discarded stream)
  std::shared_ptr<Subscribers> subscribers;
  bool disabled = false;  // drain only
  std::function<void()> on_eof;
};

class OutputStream final : public FlowControl {
 public:
  explicit OutputStream(StreamSetup setup);
  OutputStream(const OutputStream&) = delete;
  OutputStream& operator=(const OutputStream&) = delete;
  // Writes out a kept partial line (it was read; it must not be lost) and detaches.
  ~OutputStream() override;

  void pause_reading() override;
  void resume_reading() override;

  [[nodiscard]] bool at_eof() const noexcept { return reader_->at_eof(); }
  [[nodiscard]] int pipe_fd() const noexcept { return reader_->fd(); }
  [[nodiscard]] const std::vector<std::shared_ptr<LogFile>>& files() const noexcept { return files_; }
  [[nodiscard]] nlohmann::json stats() const;

 private:
  void on_data(std::string_view chunk);
  std::size_t on_peek(std::string_view chunk);
  void on_spliced();
  [[nodiscard]] bool wants_peek() const;
  void flush_partial_line();
  void on_eof();
  void on_partial_timer();
  void arm_partial_timer(std::int64_t delay_ms);
  void deliver();
  [[nodiscard]] const LineVisitor* visitor() const;

  LineFormat format_;
  LineFramer framer_;
  PartialFlushTiming timing_;
  std::vector<std::shared_ptr<LogFile>> files_;
  std::shared_ptr<Subscribers> subscribers_;
  bool disabled_;
  std::function<void()> on_eof_;
  LineVisitor visitor_;
  std::string rendered_;  // reused between chunks: no allocation per read
  UvHandle<uv_timer_t> partial_timer_;
  bool partial_timer_armed_ = false;
  std::int64_t last_data_ms_ = 0;
  bool may_splice_ = false;       // raw, one regular file, a pipe, not disabled
  bool partial_in_file_ = false;  // the framer's tail was spliced: for subscribers only
  std::uint64_t spliced_bytes_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for file callbacks
  std::unique_ptr<PipeReader> reader_;  // last: destroyed first, no callback into a half-gone stream
};

}  // namespace drove::logs
