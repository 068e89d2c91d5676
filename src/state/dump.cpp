#include "state/dump.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "base/safe_file.hpp"
#include "base/unique_fd.hpp"
#include "config/pm2_dump.hpp"

namespace drove::state {
namespace {

struct DumpWork {
  uv_work_t req;
  std::string path;
  nlohmann::json dump;
  std::vector<DumpWriter::Done> waiters;
  Status result = Ok{};
  std::function<void(DumpWork&)> finished;
};

// Why a candidate dump cannot be used, or "" when it can.
std::string unusable_because(const std::string& path, nlohmann::json& out) {
  std::ifstream in(path);
  if (!in) return std::string("cannot open it (") + std::strerror(errno) + ")";
  out = nlohmann::json::parse(in, nullptr, false);
  if (out.is_discarded()) return "it is not valid JSON (truncated or corrupt)";
  if (config::is_pm2_dump(out)) return {};  // written by PM2: resurrect converts it
  if (!out.is_object() || !out.contains("apps") || !out["apps"].is_array()) return "it has no \"apps\" list";
  return {};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A dump that cannot be read is moved out of the way (to <path>.broken, replacing an older
// one), so that neither the next save turns it into the backup nor a resurrect reads it again.
std::string set_aside(const std::string& path) {
  const std::string aside = path + ".broken";
  if (::rename(path.c_str(), aside.c_str()) != 0) return {};
  return aside;
}

}  // namespace

Status write_dump_file(const std::string& path, const nlohmann::json& dump) {
  const std::string text = dump.dump(2) + "\n";
  // Keep the previous list: link() fails harmlessly when there is none yet (link() does not
  // follow a symlink at `path`, and the backup name is removed first, never written through).
  // A broken list is never made the backup: it is set aside and the backup kept.
  const std::string backup = path + ".bak";
  nlohmann::json current;
  if (exists(path) && !unusable_because(path, current).empty()) {
    (void)set_aside(path);
  } else {
    ::unlink(backup.c_str());
    if (::link(path.c_str(), backup.c_str()) != 0 && errno != ENOENT) return last_error("back up \"" + path + "\"");
  }
  // A unique temporary name (O_EXCL, no symlink followed), fsync'd, renamed, directory fsync'd.
  return write_file_atomically(path, text, 0600, true, false);
}

void DumpWriter::save(nlohmann::json dump, Done done) {
  queued_ = std::move(dump);
  queued_waiters_.push_back(std::move(done));
  if (!in_flight_) start_next();
}

void DumpWriter::start_next() {
  if (!queued_) return;
  auto work = std::make_unique<DumpWork>();
  work->req.data = work.get();
  work->path = path_;
  work->dump = std::move(*queued_);
  work->waiters = std::move(queued_waiters_);
  queued_.reset();
  queued_waiters_.clear();
  work->finished = [this, alive = std::weak_ptr<int>(alive_)](DumpWork& w) {
    if (alive.expired()) return;
    in_flight_ = false;
    for (auto& waiter : w.waiters) waiter(w.result);
    start_next();
  };
  const int rc = uv_queue_work(
      loop_, &work->req,
      [](uv_work_t* req) {
        auto* w = static_cast<DumpWork*>(req->data);
        w->result = write_dump_file(w->path, w->dump);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<DumpWork> w(static_cast<DumpWork*>(req->data));
        w->finished(*w);
      });
  if (rc != 0) {
    for (auto& waiter : work->waiters) waiter(SysError{-rc, "queue the save"});
    return;
  }
  in_flight_ = true;
  (void)work.release();  // owned by the request until its after-work callback
}

Result<LoadedDump> read_dump_file(const std::string& path, const std::string& legacy_path) {
  nlohmann::json dump;
  std::string why = unusable_because(path, dump);
  if (why.empty()) return LoadedDump{std::move(dump), path, {}};
  const bool broken = exists(path);
  const std::string backup = path + ".bak";
  if (!broken && !exists(backup) && !legacy_path.empty() && unusable_because(legacy_path, dump).empty()) {
    return LoadedDump{std::move(dump), legacy_path, {}};  // saved by drove 0.1
  }
  if (broken) {
    if (const std::string aside = set_aside(path); !aside.empty()) why += ", set aside as \"" + aside + "\"";
  }
  if (unusable_because(backup, dump).empty()) return LoadedDump{std::move(dump), backup, "\"" + path + "\": " + why};
  return SysError{ENOENT, "no saved process list in \"" + path + "\" (" + why + "; run `drove save` first)"};
}

}  // namespace drove::state
