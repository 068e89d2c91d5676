// The daemon's log engine; see log_manager.hpp.
#include "logs/log_manager.hpp"

#include <unistd.h>

#include "base/clock.hpp"
#include "base/loop_barrier.hpp"

namespace drove::logs {
namespace {

bool discards(const std::string& path) { return path.empty() || path == "/dev/null"; }

LineFormat format_for(const OutputSpec& spec, bool is_err) {
  LineFormat format;
  format.app_name = spec.app_name;
  format.process_id = spec.instance_id;
  format.is_err = is_err;
  if (spec.json) {
    format.kind = LineFormat::Kind::json;
    format.date_format = spec.date_format;
  } else if (spec.time || !spec.date_format.empty()) {
    // PM2 prefixes when either is set: a date format alone implies timestamps.
    format.kind = LineFormat::Kind::timestamped;
    format.date_format = spec.date_format;
  }
  return format;
}

}  // namespace

LogManager::LogManager(uv_loop_t* loop, LogManagerOptions options)
    : loop_(loop), options_(options), read_buffer_(std::make_shared<std::vector<char>>(options.read_chunk_bytes)) {
  midnight_timer_ = UvHandle<uv_timer_t>::make();
  uv_timer_init(loop_, midnight_timer_.get());
  midnight_timer_->data = this;
  uv_unref(midnight_timer_.handle());  // never keeps the loop alive by itself
  arm_midnight_timer();
}

LogManager::~LogManager() = default;

void LogManager::arm_midnight_timer() {
  uv_timer_start(
      midnight_timer_.get(),
      [](uv_timer_t* timer) {
        loop_barrier("midnight rotation", [timer] {
          auto* self = owner_of<LogManager>(timer);
          if (self == nullptr) return;
          for (auto& file : self->live_files()) {
            if (file->rotation().daily) file->request_rotate();
          }
          self->arm_midnight_timer();
        });
      },
      // A second late, so that the rotated name carries the new day's date... and the old
      // day's lines are all in the rotated file.
      static_cast<std::uint64_t>(ms_until_next_local_midnight(wall_ms())) + 1000, 0);
}

std::shared_ptr<LogFile> LogManager::file_for(const std::string& path, const RotationPolicy& rotation,
                                              const FileOwner& owner, std::optional<SysError>& open_error) {
  auto& slot = files_[path];
  if (auto existing = slot.lock()) return existing;
  std::optional<SysError> error;
  auto file = LogFile::create(loop_, path, rotation, options_.water_marks, &error, owner);
  if (error && !open_error) open_error = std::move(error);
  slot = file;
  return file;
}

std::unique_ptr<InstanceOutput> LogManager::attach(const OutputSpec& spec, UniqueFd stdout_read, UniqueFd stderr_read) {
  std::erase_if(files_, [](const auto& entry) { return entry.second.expired(); });
  std::optional<SysError> open_error;
  std::vector<std::shared_ptr<LogFile>> out_files;
  std::vector<std::shared_ptr<LogFile>> err_files;
  if (!spec.disable) {
    if (!discards(spec.out_path))
      out_files.push_back(file_for(spec.out_path, spec.rotation, spec.owner_for(spec.out_path), open_error));
    if (!discards(spec.err_path))
      err_files.push_back(file_for(spec.err_path, spec.rotation, spec.owner_for(spec.err_path), open_error));
    if (!discards(spec.combined_path)) {
      auto combined = file_for(spec.combined_path, spec.rotation, spec.owner_for(spec.combined_path), open_error);
      // out_path == combined_path would write every line twice; a file appears once per stream.
      for (auto* files : {&out_files, &err_files}) {
        if (std::find(files->begin(), files->end(), combined) == files->end()) files->push_back(combined);
      }
    }
  }
  auto setup = [&](UniqueFd fd, bool is_err, std::vector<std::shared_ptr<LogFile>> files) {
    return StreamSetup{.loop = loop_,
                       .fd = std::move(fd),
                       .read_buffer = read_buffer_,
                       .format = format_for(spec, is_err),
                       .partial_cap_bytes = options_.partial_cap_bytes,
                       .timing = options_.partial_flush,
                       .files = std::move(files),
                       .subscribers = subscribers_,
                       .disabled = spec.disable,
                       .on_eof = {}};
  };
  return std::make_unique<InstanceOutput>(loop_, setup(std::move(stdout_read), false, std::move(out_files)),
                                          setup(std::move(stderr_read), true, std::move(err_files)),
                                          std::move(open_error));
}

int LogManager::subscribe(std::function<void(const LogLine&)> callback) {
  return subscribers_->add(std::move(callback));
}

void LogManager::unsubscribe(int token) { subscribers_->remove(token); }

std::vector<std::shared_ptr<LogFile>> LogManager::live_files() const {
  std::vector<std::shared_ptr<LogFile>> files;
  for (auto it = files_.begin(); it != files_.end();) {
    if (auto file = it->second.lock()) {
      files.push_back(std::move(file));
      ++it;
    } else {
      it = files_.erase(it);
    }
  }
  return files;
}

Status LogManager::reopen_all() {
  for (auto& file : live_files()) file->request_reopen();
  return Ok{};
}

Status LogManager::flush(const std::vector<std::string>& paths, const FileOwner& owner) {
  Status result = Ok{};
  for (const auto& path : paths) {
    auto it = files_.find(path);
    if (auto file = it == files_.end() ? nullptr : it->second.lock()) {
      file->request_truncate();
      continue;
    }
    // Not open: one safe open + ftruncate, on the loop. A user command, not a per-line cost.
    const FsIdentity as_owner(owner);
    if (auto truncated = truncate_file(path); !truncated && result.ok()) result = truncated;
  }
  return result;
}

void LogManager::rotate_all() {
  for (auto& file : live_files()) file->request_rotate();
}

nlohmann::json LogManager::stats() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : live_files()) files.push_back(file->stats());
  return {{"files", files}, {"subscribers", subscribers_->size()}};
}

void LogManager::when_all_written(std::function<void()> done) {
  auto files = live_files();
  auto remaining = std::make_shared<std::size_t>(files.size() + 1);
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  auto one_done = [remaining, shared_done] {
    if (--*remaining == 0 && *shared_done) (*shared_done)();
  };
  for (const auto& file : files) file->when_written(file->appended_bytes(), one_done);
  one_done();
}

}  // namespace drove::logs
