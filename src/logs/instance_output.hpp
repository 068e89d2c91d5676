// InstanceOutput: the owner of one instance's output handling (its stdout and stderr streams).
// Made by LogManager::attach(); destroying it stops reading (bytes already read are still
// written).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/uv_handle.hpp"
#include "logs/output_stream.hpp"

namespace drove::logs {

class InstanceOutput {
 public:
  InstanceOutput(uv_loop_t* loop, StreamSetup out, StreamSetup err, std::optional<SysError> open_error);
  InstanceOutput(const InstanceOutput&) = delete;
  InstanceOutput& operator=(const InstanceOutput&) = delete;
  ~InstanceOutput();

  // `done` runs (from the loop, never from inside this call) once both pipes reached EOF and
  // every byte read from them is written (or accounted as dropped). It may destroy this object.
  void on_drained(std::function<void()> done);
  [[nodiscard]] bool drained() const noexcept { return drained_; }
  // The first log file that could not be opened at attach time (the stream keeps draining and
  // retries on each write; see docs/logs.md).
  [[nodiscard]] const std::optional<SysError>& open_error() const noexcept { return open_error_; }
  [[nodiscard]] nlohmann::json stats() const;
  // The read ends of its stdout and stderr pipes (-1 once closed).
  [[nodiscard]] std::pair<int, int> pipe_fds() const noexcept {
    return {out_ ? out_->pipe_fd() : -1, err_ ? err_->pipe_fd() : -1};
  }

 private:
  void on_stream_eof();
  void on_file_settled();
  void schedule_notification();

  std::optional<SysError> open_error_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for file callbacks
  std::function<void()> drained_callback_;
  bool draining_ = false;
  bool drained_ = false;
  int files_pending_ = 0;
  UvHandle<uv_timer_t> notify_timer_;
  std::unique_ptr<OutputStream> out_;
  std::unique_ptr<OutputStream> err_;
};

}  // namespace drove::logs
