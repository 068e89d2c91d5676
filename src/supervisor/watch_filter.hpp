// WatchFilter: which changed paths `ignore_watch` excludes from triggering a restart. PM2 hands
// `ignore_watch` to chokidar's `ignored` (anymatch globs) with the app's cwd as base, and
// without `ignore_watch` ignores dotfiles and node_modules. Pure, so the rules are unit-tested.
#pragma once

#include <string>
#include <vector>

namespace drove::supervisor {

class WatchFilter {
 public:
  // `patterns` as the user wrote them (globs or plain names/paths); `base` is the app's cwd.
  WatchFilter(std::vector<std::string> patterns, std::string base);

  // A path is ignored when a pattern matches it or one of its parent directories, taken
  // relative to `base` or absolute ("node_modules" ignores node_modules/x/y.js).
  [[nodiscard]] bool ignored(const std::string& absolute_path) const;

 private:
  std::vector<std::string> patterns_;
  std::string base_;
};

}  // namespace drove::supervisor
