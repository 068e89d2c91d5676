#include "daemon/dump.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include "base/safe_file.hpp"
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

}  // namespace

Status write_dump_file(const std::string& path, const nlohmann::json& dump) {
  const std::string text = dump.dump(2) + "\n";
  // Keep the previous list: link() fails harmlessly when there is none yet (link() does not
  // follow a symlink at `path`, and the backup name is removed first, never written through).
  const std::string backup = path + ".bak";
  ::unlink(backup.c_str());
  if (::link(path.c_str(), backup.c_str()) != 0 && errno != ENOENT) return last_error("back up \"" + path + "\"");
  // A unique temporary name (O_EXCL, no symlink followed), fsync'd, renamed, directory fsync'd.
  return write_file_atomically(path, text, 0600, true, false);
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
