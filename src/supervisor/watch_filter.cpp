#include "supervisor/watch_filter.hpp"

#include <fnmatch.h>

namespace drove::supervisor {
namespace {

// The path and each of its parent directories ("a/b/c" → "a", "a/b", "a/b/c").
std::vector<std::string> prefixes(const std::string& path) {
  std::vector<std::string> out;
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    out.push_back(path.substr(0, slash));
  }
  out.push_back(path);
  return out;
}

std::string relative_to(const std::string& base, const std::string& path) {
  if (path == base) return ".";
  const std::string prefix = base.empty() || base.back() == '/' ? base : base + "/";
  return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
}

bool default_ignored(const std::string& relative) {
  // PM2's default: /[\/\\]\.|node_modules/ (dotfiles and dot-directories, node_modules).
  if (relative.find("node_modules") != std::string::npos) return true;
  if (!relative.empty() && relative[0] == '.' && relative != ".") return true;
  return relative.find("/.") != std::string::npos;
}

}  // namespace

WatchFilter::WatchFilter(std::vector<std::string> patterns, std::string base) : base_(std::move(base)) {
  for (auto& pattern : patterns) {
    while (pattern.rfind("./", 0) == 0) pattern.erase(0, 2);
    while (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
    if (!pattern.empty()) patterns_.push_back(std::move(pattern));
  }
}

bool WatchFilter::ignored(const std::string& absolute_path) const {
  const std::string relative = relative_to(base_, absolute_path);
  if (patterns_.empty()) return default_ignored(relative);
  for (const auto& pattern : patterns_) {
    const bool absolute_pattern = !pattern.empty() && pattern[0] == '/';
    for (const auto& candidate : prefixes(absolute_pattern ? absolute_path : relative)) {
      if (::fnmatch(pattern.c_str(), candidate.c_str(), 0) == 0) return true;
    }
    // "*.log" or "node_modules" also match a file or directory by its own name at any depth.
    if (pattern.find('/') == std::string::npos) {
      size_t start = 0;
      while (start <= relative.size()) {
        size_t end = relative.find('/', start);
        if (end == std::string::npos) end = relative.size();
        if (::fnmatch(pattern.c_str(), relative.substr(start, end - start).c_str(), 0) == 0) return true;
        start = end + 1;
      }
    }
  }
  return false;
}

}  // namespace drove::supervisor
