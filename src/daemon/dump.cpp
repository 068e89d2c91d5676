#include "daemon/dump.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include "base/unique_fd.hpp"

namespace drove::daemon {
namespace {

struct DumpWork {
  uv_work_t req;
  std::string path;
  nlohmann::json dump;
  std::function<void(Status)> done;
  Status result = Ok{};
};

Status fsync_dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return last_error("fsync \"" + dir + "\"");
  return Ok{};
}

}  // namespace

Status write_dump_file(const std::string& path, const nlohmann::json& dump) {
  const std::string tmp = path + ".tmp";
  const std::string text = dump.dump(2) + "\n";
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return last_error("create \"" + tmp + "\"");
    for (size_t off = 0; off < text.size();) {
      const ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return last_error("write \"" + tmp + "\"");
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return last_error("fsync \"" + tmp + "\"");
  }
  // Keep the previous list: link() fails harmlessly when there is none yet.
  const std::string backup = path + ".bak";
  ::unlink(backup.c_str());
  if (::link(path.c_str(), backup.c_str()) != 0 && errno != ENOENT) return last_error("back up \"" + path + "\"");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return last_error("rename \"" + tmp + "\"");
  return fsync_dir_of(path);
}

void save_dump_async(uv_loop_t* loop, std::string path, nlohmann::json dump, std::function<void(Status)> done) {
  auto* work = new DumpWork{};
  work->req.data = work;
  work->path = std::move(path);
  work->dump = std::move(dump);
  work->done = std::move(done);
  uv_queue_work(
      loop, &work->req,
      [](uv_work_t* req) {
        auto* w = static_cast<DumpWork*>(req->data);
        w->result = write_dump_file(w->path, w->dump);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<DumpWork> w(static_cast<DumpWork*>(req->data));
        w->done(w->result);
      });
}

Result<nlohmann::json> read_dump_file(const std::string& path) {
  for (const std::string& candidate : {path, path + ".bak"}) {
    std::ifstream in(candidate);
    if (!in) continue;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("apps")) return j;
  }
  return SysError{ENOENT, "no saved process list in \"" + path + "\" (run `drove save` first)"};
}

}  // namespace drove::daemon
