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
  std::unique_ptr<PipeReader> reader_;  // last: destroyed first, no callback into a half-gone stream
};

}  // namespace drove::logs
