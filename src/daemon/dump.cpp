#include "daemon/dump.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "base/unique_fd.hpp"

namespace drove::daemon {
namespace {

struct DumpWork {
  uv_work_t req;
  std::string path;
  nlohmann::json dump;
  std::vector<DumpWriter::Done> waiters;
  Status result = Ok{};
  std::function<void(DumpWork&)> finished;
};

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

Status fsync_dir_of(const std::string& path) {
  const std::string dir = dir_of(path);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return last_error("fsync \"" + dir + "\"");
  return Ok{};
}

Status write_all(int fd, const std::string& text, const std::string& name) {
  for (size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return last_error("write \"" + name + "\"");
    off += static_cast<size_t>(n);
  }
  return Ok{};
}

// Why a candidate dump cannot be used, or "" when it can.
std::string unusable_because(const std::string& path, nlohmann::json& out) {
  std::ifstream in(path);
  if (!in) return std::string("cannot open it (") + std::strerror(errno) + ")";
  out = nlohmann::json::parse(in, nullptr, false);
  if (out.is_discarded()) return "it is not valid JSON (truncated or corrupt)";
  if (!out.is_object() || !out.contains("apps") || !out["apps"].is_array()) return "it has no \"apps\" list";
  return {};
}

}  // namespace

Status write_dump_file(const std::string& path, const nlohmann::json& dump) {
  const std::string text = dump.dump(2) + "\n";
  // A unique name: a concurrent writer (another daemon's, a test's) never shares our file.
  std::string tmp = path + ".XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return last_error("create a temporary file next to \"" + path + "\"");
  auto discard = [&tmp](Status s) {
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd.get(), 0600) != 0) return discard(last_error("chmod \"" + tmp + "\""));
  if (auto s = write_all(fd.get(), text, tmp); !s.ok()) return discard(s);
  if (::fsync(fd.get()) != 0) return discard(last_error("fsync \"" + tmp + "\""));
  fd.reset();
  // Keep the previous list: link() fails harmlessly when there is none yet.
  const std::string backup = path + ".bak";
  ::unlink(backup.c_str());
  if (::link(path.c_str(), backup.c_str()) != 0 && errno != ENOENT) return discard(last_error("back up \"" + path + "\""));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return discard(last_error("rename \"" + tmp + "\""));
  return fsync_dir_of(path);
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

Result<LoadedDump> read_dump_file(const std::string& path) {
  nlohmann::json dump;
  const std::string why = unusable_because(path, dump);
  if (why.empty()) return LoadedDump{std::move(dump), path, {}};
  const std::string backup = path + ".bak";
  if (unusable_because(backup, dump).empty()) return LoadedDump{std::move(dump), backup, "\"" + path + "\": " + why};
  return SysError{ENOENT, "no saved process list in \"" + path + "\" (" + why + "; run `drove save` first)"};
}

}  // namespace drove::daemon
