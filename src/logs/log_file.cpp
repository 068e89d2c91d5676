// The loop half of a log file: queueing, coalescing, back-pressure, loss accounting; see
// log_file.hpp.
#include "logs/log_file.hpp"

#include <algorithm>
#include <utility>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/loop_barrier.hpp"
#include "logs/gzip_file.hpp"

namespace drove::logs {
namespace {
constexpr std::int64_t kFailureReportIntervalMs = 10000;
constexpr std::size_t kIdleBufferKeepBytes = std::size_t{1} << 20;
}  // namespace

struct LogFile::CompressJob {
  uv_work_t request{};
  std::shared_ptr<LogFile> file;
  std::string source;
  Status result = Ok{};
};

std::shared_ptr<LogFile> LogFile::create(uv_loop_t* loop, std::string path, RotationPolicy rotation, WaterMarks marks,
                                         std::optional<SysError>* open_error, FileOwner owner) {
  auto file = std::make_shared<LogFile>(PrivateTag{}, loop, std::move(path), rotation, marks, std::move(owner));
  // Synchronous on purpose: attach() must be able to say "cannot create /x/logs" right away.
  // It is one mkdir/open when an instance starts, not a per-line cost.
  if (auto opened = file->sink_.open(); !opened) {
    file->last_error_ = opened.error();
    file->failing_ = true;
    log_error("logs: {}", opened.error().message());
    if (open_error != nullptr) *open_error = opened.error();
  }
  file->regular_ = file->sink_.regular();
  return file;
}

LogFile::LogFile(PrivateTag, uv_loop_t* loop, std::string path, RotationPolicy rotation, WaterMarks marks,
                 FileOwner owner)
    : loop_(loop),
      path_(std::move(path)),
      rotation_(rotation),
      marks_(marks),
      sink_(path_, rotation, std::move(owner)) {
  job_.data = this;
}

LogFile::~LogFile() = default;

void LogFile::append(std::string_view bytes) {
  if (bytes.empty()) return;
  pending_.append(bytes);
  appended_bytes_ += bytes.size();
  maybe_start_job();
  update_pressure();
}

void LogFile::append_spliced(std::string_view read, std::string_view spliced, std::shared_ptr<const UniqueFd> source) {
  pending_.append(read);
  if (!spliced.empty()) {
    const SpliceRange range{.begin = pending_.size(), .size = spliced.size(), .source = source->get()};
    pending_splices_.push_back(Splice{.range = range, .source = std::move(source)});
    pending_.append(spliced);
  }
  appended_bytes_ += read.size() + spliced.size();
  maybe_start_job();
  update_pressure();
}

void LogFile::when_written(std::uint64_t mark, std::function<void()> done) {
  if (settled_bytes_ >= mark) {
    done();
    return;
  }
  waiters_.emplace_back(mark, std::move(done));
}

void LogFile::add_feeder(FlowControl* feeder) {
  feeders_.push_back(feeder);
  if (over_high_water_) feeder->pause_reading();
}

void LogFile::remove_feeder(FlowControl* feeder) {
  feeders_.erase(std::remove(feeders_.begin(), feeders_.end(), feeder), feeders_.end());
}

void LogFile::request_reopen() {
  reopen_requested_ = true;
  maybe_start_job();
}

void LogFile::request_truncate() {
  truncate_requested_ = true;
  maybe_start_job();
}

void LogFile::request_rotate() {
  if (!rotation_.enabled()) return;
  rotate_requested_ = true;
  maybe_start_job();
}

std::size_t LogFile::queued_bytes() const noexcept { return pending_.size() + (job_in_flight_ ? inflight_.size() : 0); }

void LogFile::maybe_start_job() {
  if (job_in_flight_) return;
  if (pending_.empty() && !reopen_requested_ && !truncate_requested_ && !rotate_requested_) return;
  std::swap(pending_, inflight_);
  std::swap(pending_splices_, inflight_splices_);
  inflight_ranges_.clear();
  for (const auto& splice : inflight_splices_) inflight_ranges_.push_back(splice.range);
  request_ = SinkRequest{.bytes = inflight_,
                         .splices = inflight_ranges_,
                         .reopen = std::exchange(reopen_requested_, false),
                         .truncate = std::exchange(truncate_requested_, false),
                         .rotate = std::exchange(rotate_requested_, false),
                         .wall_ms = wall_ms()};
  job_in_flight_ = true;
  job_keepalive_ = shared_from_this();
  const int rc = uv_queue_work(
      loop_, &job_,
      [](uv_work_t* work) {
        auto* self = static_cast<LogFile*>(work->data);
        self->outcome_ = self->sink_.run(self->request_);
      },
      [](uv_work_t* work, int) {
        loop_barrier("log write done", [work] { static_cast<LogFile*>(work->data)->on_job_done(); });
      });
  if (rc != 0) {
    // Only possible with an invalid loop; account the batch rather than lose it silently.
    job_in_flight_ = false;
    record_failure(SysError{-rc, "queue write for " + path_}, inflight_.size());
    settled_bytes_ += inflight_.size();
    inflight_.clear();
    inflight_splices_.clear();  // their bytes stay in their pipes: their streams read them again
    job_keepalive_.reset();
  }
}

void LogFile::on_job_done() {
  // Released at the end of this function: the file may have no other owner left.
  const std::shared_ptr<LogFile> keepalive = std::move(job_keepalive_);
  job_in_flight_ = false;
  settled_bytes_ += inflight_.size();
  bytes_written_ += outcome_.bytes_written;
  lines_written_ += outcome_.lines_written;
  rotations_ += outcome_.rotated_paths.size();
  if (outcome_.error) {
    record_failure(*outcome_.error, outcome_.bytes_dropped);
  } else if (failing_ && outcome_.bytes_written > 0) {
    failing_ = false;
    log_info("logs: writing to {} again ({} bytes were dropped meanwhile)", path_, dropped_since_report_);
    dropped_since_report_ = 0;
  }
  if (rotation_.compress) {
    for (auto& rotated : outcome_.rotated_paths) compress_queue_.push_back(std::move(rotated));
    maybe_start_compression();
  }
  outcome_ = SinkOutcome{};
  inflight_.clear();
  inflight_splices_.clear();  // closes descriptors of streams gone meanwhile
  if (pending_.empty() && inflight_.capacity() > kIdleBufferKeepBytes) std::string().swap(inflight_);
  maybe_start_job();
  update_pressure();
  notify_waiters();
}

void LogFile::notify_waiters() {
  // Callbacks may attach or detach streams (and so call back into this file): take them out first.
  std::vector<std::function<void()>> ready;
  auto it = std::partition(waiters_.begin(), waiters_.end(),
                           [&](const auto& waiter) { return waiter.first > settled_bytes_; });
  for (auto ready_it = it; ready_it != waiters_.end(); ++ready_it) ready.push_back(std::move(ready_it->second));
  waiters_.erase(it, waiters_.end());
  for (auto& done : ready) done();
}

void LogFile::update_pressure() {
  const std::size_t queued = queued_bytes();
  if (!over_high_water_ && queued >= marks_.high_bytes) {
    over_high_water_ = true;
    ++pauses_;
    for (auto* feeder : std::vector<FlowControl*>(feeders_)) feeder->pause_reading();
  } else if (over_high_water_ && queued <= marks_.low_bytes) {
    over_high_water_ = false;
    for (auto* feeder : std::vector<FlowControl*>(feeders_)) feeder->resume_reading();
  }
}

void LogFile::record_failure(const SysError& error, std::uint64_t dropped) {
  last_error_ = error;
  bytes_dropped_ += dropped;
  dropped_since_report_ += dropped;
  const std::int64_t now = monotonic_ms();
  if (!failing_ || now - last_report_ms_ >= kFailureReportIntervalMs) {
    log_warn("logs: {} ({} bytes dropped so far; the app keeps running)", error.message(), bytes_dropped_);
    last_report_ms_ = now;
  }
  failing_ = true;
}

void LogFile::maybe_start_compression() {
  if (compress_in_flight_ || compress_queue_.empty()) return;
  auto* job = new CompressJob{};
  job->file = shared_from_this();
  job->source = std::move(compress_queue_.front());
  compress_queue_.pop_front();
  job->request.data = job;
  compress_in_flight_ = true;
  const int rc = uv_queue_work(
      loop_, &job->request,
      [](uv_work_t* work) {
        auto* self = static_cast<CompressJob*>(work->data);
        const FsIdentity as_owner(self->file->sink_.owner());
        self->result = gzip_file(self->source);
        // Rotations queued behind a slow gzip may already be beyond `retain` and pruned.
        if (!self->result && self->result.error().code == ENOENT) self->result = Ok{};
        // Retention counts rotations, compressed or not; prune once this one is settled.
        if (self->result)
          self->result = FileSink(self->file->path_, self->file->rotation_, self->file->sink_.owner()).prune_rotated();
      },
      [](uv_work_t* work, int) {
        std::unique_ptr<CompressJob> self(static_cast<CompressJob*>(work->data));
        loop_barrier("log compression done", [&self] {
          LogFile& file = *self->file;
          file.compress_in_flight_ = false;
          if (!self->result) {
            file.last_error_ = self->result.error();
            log_warn("logs: compressing a rotated log: {}", self->result.error().message());
          }
          file.maybe_start_compression();
        });
      });
  if (rc != 0) {
    compress_in_flight_ = false;
    delete job;
  }
}

nlohmann::json LogFile::stats() const {
  return {{"path", path_},
          {"bytes_written", bytes_written_},
          {"lines_written", lines_written_},
          {"bytes_dropped", bytes_dropped_},
          {"queued_bytes", queued_bytes()},
          {"paused_feeders", over_high_water_},
          {"pauses", pauses_},
          {"rotations", rotations_},
          {"compress_pending", compress_queue_.size() + (compress_in_flight_ ? 1 : 0)},
          {"writers", feeders_.size()},
          {"last_error", last_error_ ? nlohmann::json(last_error_->message()) : nlohmann::json()}};
}

}  // namespace drove::logs
