#include "supervisor/file_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include "base/log.hpp"

namespace drove::supervisor {
namespace {

constexpr std::uint32_t kDirectoryEvents = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
                                           IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR;

}  // namespace

FileWatcher::FileWatcher(UniqueFd fd, WatchFilter filter, OnChange on_change)
    : fd_(std::move(fd)), filter_(std::move(filter)), on_change_(std::move(on_change)) {}

Result<std::unique_ptr<FileWatcher>> FileWatcher::start(uv_loop_t* loop, const std::vector<std::string>& roots,
                                                        WatchFilter filter, OnChange on_change) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return last_error("inotify_init1");
  std::unique_ptr<FileWatcher> watcher(new FileWatcher(std::move(fd), std::move(filter), std::move(on_change)));
  for (const auto& root : roots) watcher->add_root(root);
  watcher->poll_ = UvHandle<uv_poll_t>::make();
  if (int rc = uv_poll_init(loop, watcher->poll_.get(), watcher->fd_.get()); rc != 0) {
    return SysError{-rc, "watch: uv_poll_init"};
  }
  watcher->poll_->data = watcher.get();
  uv_poll_start(watcher->poll_.get(), UV_READABLE, [](uv_poll_t* p, int, int) {
    if (auto* self = owner_of<FileWatcher>(p)) self->drain();
  });
  uv_unref(watcher->poll_.handle());
  return watcher;
}

void FileWatcher::add_root(const std::string& root) {
  std::error_code ec;
  const auto status = std::filesystem::status(root, ec);
  if (ec || !std::filesystem::exists(status)) {
    log_warn("watch: '{}' does not exist, not watched", root);
    return;
  }
  if (std::filesystem::is_directory(status)) return add_tree(root);
  const std::filesystem::path file(root);
  add_directory(file.parent_path().string(), file.filename().string());
}

void FileWatcher::add_tree(const std::string& directory) {
  if (filter_.ignored(directory)) return;
  add_directory(directory, "");
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    // Symlinked directories are not followed: a link to / must not watch the whole disk.
    if (it->is_directory(type_ec) && !it->is_symlink(type_ec)) add_tree(it->path().string());
  }
}

void FileWatcher::add_directory(const std::string& directory, const std::string& only_name) {
  const int wd = ::inotify_add_watch(fd_.get(), directory.c_str(), kDirectoryEvents);
  if (wd < 0) {
    // ENOSPC here is fs.inotify.max_user_watches: say so, the fix is a sysctl.
    log_warn("watch: cannot watch '{}': {}{}", directory, std::strerror(errno),
             errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
    return;
  }
  watched_[wd] = Watched{directory, only_name};
}

void FileWatcher::drain() {
  alignas(inotify_event) char buffer[16384];
  std::vector<std::string> changed;
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        changed.emplace_back("(inotify queue overflow)");
        continue;
      }
      auto it = watched_.find(event->wd);
      if (it == watched_.end()) continue;
      if (event->mask & IN_IGNORED) {
        watched_.erase(it);
        continue;
      }
      const std::string name = event->len > 0 ? std::string(event->name) : std::string();
      if (!it->second.only_name.empty() && name != it->second.only_name) continue;
      const std::string path = name.empty() ? it->second.path : it->second.path + "/" + name;
      if (filter_.ignored(path)) continue;
      if ((event->mask & IN_ISDIR) && (event->mask & (IN_CREATE | IN_MOVED_TO)) && it->second.only_name.empty()) {
        add_tree(path);
      }
      // A directory's own attribute or close events say nothing about its content.
      if ((event->mask & IN_ISDIR) && !(event->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))) continue;
      changed.push_back(path);
    }
  }
  // After the loop: the callback may destroy this watcher (a restart that turns watching off).
  if (!changed.empty() && on_change_) {
    auto notify = on_change_;
    notify(changed.front());
  }
}

}  // namespace drove::supervisor
