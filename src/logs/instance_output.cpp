// One instance's output: two streams and the "drained" notification; see instance_output.hpp.
#include "logs/instance_output.hpp"

#include <algorithm>

#include "base/loop_barrier.hpp"

namespace drove::logs {

InstanceOutput::InstanceOutput(uv_loop_t* loop, StreamSetup out, StreamSetup err, std::optional<SysError> open_error)
    : open_error_(std::move(open_error)) {
  notify_timer_ = UvHandle<uv_timer_t>::make();
  uv_timer_init(loop, notify_timer_.get());
  notify_timer_->data = this;
  out.on_eof = [this] { on_stream_eof(); };
  err.on_eof = [this] { on_stream_eof(); };
  out_ = std::make_unique<OutputStream>(std::move(out));
  err_ = std::make_unique<OutputStream>(std::move(err));
  on_stream_eof();  // both fds may have been invalid
}

InstanceOutput::~InstanceOutput() = default;

void InstanceOutput::on_drained(std::function<void()> done) {
  drained_callback_ = std::move(done);
  if (drained_) schedule_notification();
}

void InstanceOutput::on_stream_eof() {
  if (draining_ || !out_ || !err_ || !out_->at_eof() || !err_->at_eof()) return;
  draining_ = true;
  std::vector<std::shared_ptr<LogFile>> files = out_->files();
  for (const auto& file : err_->files()) {
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  }
  files_pending_ = static_cast<int>(files.size()) + 1;  // +1 so none can finish us early
  for (auto& file : files) {
    file->when_written(file->appended_bytes(), [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock()) on_file_settled();
    });
  }
  on_file_settled();
}

void InstanceOutput::on_file_settled() {
  if (--files_pending_ > 0) return;
  drained_ = true;
  if (drained_callback_) schedule_notification();
}

void InstanceOutput::schedule_notification() {
  // Deferred to a fresh loop turn: the owner typically destroys us from the callback, which must
  // not happen inside a pipe or file callback still running on our stack.
  uv_timer_start(
      notify_timer_.get(),
      [](uv_timer_t* timer) {
        loop_barrier("output drain timer", [timer] {
          auto* self = owner_of<InstanceOutput>(timer);
          if (self == nullptr || !self->drained_callback_) return;
          auto done = std::move(self->drained_callback_);
          self->drained_callback_ = nullptr;
          done();
        });
      },
      0, 0);
}

nlohmann::json InstanceOutput::stats() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto* stream : {out_.get(), err_.get()}) {
    for (const auto& file : stream->files()) files.push_back(file->path());
  }
  return {{"out", out_->stats()},
          {"err", err_->stats()},
          {"files", files},
          {"drained", drained_},
          {"open_error", open_error_ ? nlohmann::json(open_error_->message()) : nlohmann::json()}};
}

}  // namespace drove::logs
