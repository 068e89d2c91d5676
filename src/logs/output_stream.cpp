// One instance stream from pipe to files; see output_stream.hpp.
#include "logs/output_stream.hpp"

#include <algorithm>

#include "base/clock.hpp"
#include "base/loop_barrier.hpp"

namespace drove::logs {

OutputStream::OutputStream(StreamSetup setup)
    : format_(setup.format),
      framer_(std::move(setup.format), setup.partial_cap_bytes),
      timing_(setup.timing),
      files_(std::move(setup.files)),
      subscribers_(std::move(setup.subscribers)),
      disabled_(setup.disabled),
      on_eof_(std::move(setup.on_eof)) {
  visitor_ = [this](const FramedLine& line) {
    subscribers_->publish(LogLine{.app_name = format_.app_name,
                                  .instance_id = format_.process_id,
                                  .is_err = format_.is_err,
                                  .text = std::string(line.text),
                                  .timestamp_ms = line.timestamp_ms,
                                  .partial = !line.complete});
  };
  partial_timer_ = UvHandle<uv_timer_t>::make();
  uv_timer_init(setup.loop, partial_timer_.get());
  partial_timer_->data = this;
  reader_ =
      std::make_unique<PipeReader>(setup.loop, std::move(setup.fd), std::move(setup.read_buffer),
                                   PipeReader::Callbacks{.on_data = [this](std::string_view chunk) { on_data(chunk); },
                                                         .on_eof = [this] { on_eof(); }});
  // Only now that the reader exists: a file over its high-water mark (a merged log under load)
  // or subscribers under pressure pause the new feeder at once.
  for (auto& file : files_) file->add_feeder(this);
  if (subscribers_) subscribers_->add_feeder(this);
}

OutputStream::~OutputStream() {
  if (subscribers_) subscribers_->remove_feeder(this);
  reader_.reset();
  // Detach first: appending below may cross a high-water mark, and there is no reader to pause.
  for (auto& file : files_) file->remove_feeder(this);
  rendered_.clear();
  framer_.flush_partial(rendered_, visitor());
  deliver();
}

void OutputStream::pause_reading() { reader_->pause(); }

void OutputStream::resume_reading() {
  reader_->resume();
  if (!reader_->paused() && framer_.has_partial()) arm_partial_timer(timing_.idle_ms);
}

const LineVisitor* OutputStream::visitor() const {
  return subscribers_ && !subscribers_->empty() && !disabled_ ? &visitor_ : nullptr;
}

void OutputStream::on_data(std::string_view chunk) {
  if (disabled_) return;
  last_data_ms_ = wall_ms();
  rendered_.clear();
  framer_.feed(chunk, last_data_ms_, rendered_, visitor());
  deliver();
  if (framer_.has_partial()) arm_partial_timer(timing_.idle_ms);
}

void OutputStream::on_eof() {
  rendered_.clear();
  framer_.flush_partial(rendered_, visitor());
  deliver();
  uv_timer_stop(partial_timer_.get());
  partial_timer_armed_ = false;
  on_eof_();  // last: the owner may react by tearing things down
}

void OutputStream::deliver() {
  if (rendered_.empty()) return;
  for (auto& file : files_) file->append(rendered_);
}

void OutputStream::arm_partial_timer(std::int64_t delay_ms) {
  if (partial_timer_armed_) return;
  partial_timer_armed_ = true;
  uv_timer_start(
      partial_timer_.get(),
      [](uv_timer_t* timer) {
        loop_barrier("partial line timer", [timer] {
          if (auto* self = owner_of<OutputStream>(timer)) self->on_partial_timer();
        });
      },
      static_cast<std::uint64_t>(std::max<std::int64_t>(delay_ms, 1)), 0);
}

void OutputStream::on_partial_timer() {
  partial_timer_armed_ = false;
  // While paused the rest of the line may be waiting in the pipe: splitting it would put a
  // second prefix inside one line. resume_reading() re-arms the timer.
  if (!framer_.has_partial() || reader_->paused()) return;
  // In a file other streams write to, a flushed fragment could be followed by another writer's
  // line before its own end arrives (a writer descheduled mid-line under load does that), so
  // there the fragment waits for its newline, EOF or the cap: lines never interleave.
  for (const auto& file : files_) {
    if (file->writer_count() > 1) return;
  }
  const std::int64_t now = wall_ms();
  const std::int64_t due = std::min(last_data_ms_ + timing_.idle_ms, framer_.partial_started_ms() + timing_.max_age_ms);
  if (now < due) {
    arm_partial_timer(due - now);
    return;
  }
  rendered_.clear();
  framer_.flush_partial(rendered_, visitor());
  deliver();
}

nlohmann::json OutputStream::stats() const {
  return {{"bytes_read", reader_->bytes_read()},
          {"paused", reader_->paused()},
          {"eof", reader_->at_eof()},
          {"partial_bytes", framer_.partial_size()}};
}

}  // namespace drove::logs
