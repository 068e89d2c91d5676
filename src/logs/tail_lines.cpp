// Reading the end of a log file backwards; see tail_lines.hpp.
#include "logs/tail_lines.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/unique_fd.hpp"

namespace drove::logs {

Result<std::vector<std::string>> tail_lines(const std::string& path, std::size_t n) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return last_error("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_error("stat " + path);
  std::vector<std::string> lines;
  if (n == 0 || st.st_size == 0) return lines;

  constexpr off_t kBlockBytes = 64 * 1024;
  std::string tail;  // the bytes from `start` to the end of the file
  off_t start = st.st_size;
  std::size_t newlines = 0;
  // n lines need n+1 newlines in view (or the start of the file), ignoring a final one.
  while (start > 0 && newlines <= n) {
    const off_t block = std::min(kBlockBytes, start);
    start -= block;
    std::string chunk(static_cast<std::size_t>(block), '\0');
    std::size_t got = 0;
    while (got < chunk.size()) {
      const ssize_t r = ::pread(fd.get(), chunk.data() + got, chunk.size() - got, start + static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return last_error("read " + path);
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    chunk.resize(got);
    newlines += static_cast<std::size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
    if (start + static_cast<off_t>(chunk.size()) == st.st_size && !chunk.empty() && chunk.back() == '\n') {
      --newlines;  // the file's final newline ends the last line; it does not start one
    }
    tail.insert(0, chunk);
  }
  std::string_view view(tail);
  if (!view.empty() && view.back() == '\n') view.remove_suffix(1);
  while (lines.size() < n) {
    const auto nl = view.rfind('\n');
    if (nl == std::string_view::npos) {
      if (start == 0) lines.emplace_back(view);
      break;
    }
    lines.emplace_back(view.substr(nl + 1));
    view = view.substr(0, nl);
  }
  std::reverse(lines.begin(), lines.end());
  return lines;
}

}  // namespace drove::logs
