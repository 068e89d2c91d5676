// FileWatcher: one app's `watch`, on inotify. Watches each root (a directory, recursively, or
// a single file through its parent directory), adds directories created later, skips what the
// WatchFilter ignores (no inotify watch is spent on node_modules), and reports each relevant
// change on the loop. Debouncing and what a change leads to belong to the supervisor.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "supervisor/watch_filter.hpp"

namespace drove::supervisor {

class FileWatcher {
 public:
  using OnChange = std::function<void(const std::string& path)>;

  // Fails only when inotify itself cannot be set up; a root that does not exist (yet) is
  // skipped with a warning, as chokidar does.
  static Result<std::unique_ptr<FileWatcher>> start(uv_loop_t* loop, const std::vector<std::string>& roots,
                                                    WatchFilter filter, OnChange on_change);
  ~FileWatcher() = default;
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  [[nodiscard]] size_t watch_count() const { return watched_.size(); }

 private:
  struct Watched {
    std::string path;       // the directory watched
    std::string only_name;  // a single-file root: only this entry of the directory counts
  };

  FileWatcher(UniqueFd fd, WatchFilter filter, OnChange on_change);
  void add_root(const std::string& root);
  void add_tree(const std::string& directory);
  void add_directory(const std::string& directory, const std::string& only_name);
  void drain();

  UniqueFd fd_;
  UvHandle<uv_poll_t> poll_;
  WatchFilter filter_;
  OnChange on_change_;
  std::map<int, Watched> watched_;  // by inotify watch descriptor
};

}  // namespace drove::supervisor
