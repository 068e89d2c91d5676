// One instance stream from pipe to files; see output_stream.hpp.
#include "logs/output_stream.hpp"

#include <sys/stat.h>

#include <cstring>

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
  struct stat st {};
  may_splice_ = format_.kind == LineFormat::Kind::raw && files_.size() == 1 && files_.front()->regular() &&
                !disabled_ && setup.fd && ::fstat(setup.fd.get(), &st) == 0 && S_ISFIFO(st.st_mode);
  partial_timer_ = UvHandle<uv_timer_t>::make();
  uv_timer_init(setup.loop, partial_timer_.get());
  partial_timer_->data = this;
  reader_ = std::make_unique<PipeReader>(
      setup.loop, std::move(setup.fd), std::move(setup.read_buffer),
      PipeReader::Callbacks{.on_data = [this](std::string_view chunk) { on_data(chunk); },
                            .on_eof = [this] { on_eof(); },
                            .wants_peek = [this] { return wants_peek(); },
                            .on_peek = [this](std::string_view chunk) { return on_peek(chunk); }});
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
  flush_partial_line();
}

void OutputStream::pause_reading() { reader_->pause(); }

void OutputStream::resume_reading() {
  reader_->resume();
  if (!reader_->paused() && framer_.has_partial()) arm_partial_timer(timing_.idle_ms);
}

const LineVisitor* OutputStream::visitor() const {
  return subscribers_ && !subscribers_->empty() && !disabled_ ? &visitor_ : nullptr;
}

bool OutputStream::wants_peek() const {
  // Sole writer: a shared file needs whole lines from each writer, which only reading can give.
  return may_splice_ && files_.front()->writer_count() == 1;
}

void OutputStream::flush_partial_line() {
  rendered_.clear();
  framer_.flush_partial(rendered_, visitor());
  if (partial_in_file_) rendered_.clear();  // spliced already: the subscribers' view only
  partial_in_file_ = false;
  deliver();
}

std::size_t OutputStream::on_peek(std::string_view chunk) {
  LogFile& file = *files_.front();
  // The start of a line read before (below, or while the file was shared) goes to the file with
  // the line's end, in the same write.
  const bool read_start = framer_.has_partial() && !partial_in_file_;
  if (read_start || file.rotation().enabled()) {
    // A rotation comes between two writes and never splits a line: each write ends one.
    const void* newline = ::memrchr(chunk.data(), '\n', chunk.size());
    // A line's start alone is read, and kept by the framer until its end or the partial-line
    // timer: leaving it in the pipe would wake the loop again and again.
    if (newline == nullptr) return chunk.size();
    chunk = chunk.substr(0, static_cast<std::size_t>(static_cast<const char*>(newline) - chunk.data()) + 1);
  }
  last_data_ms_ = wall_ms();
  const LineVisitor* live = visitor();
  rendered_.clear();
  if (read_start || live != nullptr) {
    // Raw rendering is the bytes themselves: `rendered_` is the line's start and then `chunk`.
    framer_.feed(chunk, last_data_ms_, rendered_, live);
  } else if (framer_.has_partial()) {
    flush_partial_line();  // a tail already in the file that nobody watches any more
  }
  const std::string_view read =
      read_start ? std::string_view(rendered_).substr(0, rendered_.size() - chunk.size()) : std::string_view();
  file.append_spliced(read, chunk, reader_->shared_fd());
  rendered_.clear();
  spliced_bytes_ += chunk.size();
  partial_in_file_ = framer_.has_partial();  // a tail `chunk` ended with, in the file already
  if (partial_in_file_) arm_partial_timer(timing_.idle_ms);
  reader_->pause();
  file.when_written(file.appended_bytes(), [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.lock()) on_spliced();
  });
  return 0;
}

void OutputStream::on_spliced() {
  reader_->resume();
  if (!reader_->paused() && framer_.has_partial()) arm_partial_timer(timing_.idle_ms);
}

void OutputStream::on_data(std::string_view chunk) {
  if (disabled_) return;
  if (partial_in_file_) flush_partial_line();  // the file's tail is complete as it is
  last_data_ms_ = wall_ms();
  rendered_.clear();
  framer_.feed(chunk, last_data_ms_, rendered_, visitor());
  deliver();
  if (framer_.has_partial()) arm_partial_timer(timing_.idle_ms);
}

void OutputStream::on_eof() {
  flush_partial_line();
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
  flush_partial_line();
}

nlohmann::json OutputStream::stats() const {
  return {{"bytes_read", reader_->bytes_read()},
          {"paused", reader_->paused()},
          {"eof", reader_->at_eof()},
          {"partial_bytes", framer_.partial_size()},
          {"spliced_bytes", spliced_bytes_}};
}

}  // namespace drove::logs
