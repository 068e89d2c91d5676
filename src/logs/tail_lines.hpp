// tail_lines(): the last lines of a log file, for `drove logs --lines N`. Reads backwards from
// the end in blocks, so a 10 GiB log costs a few reads, not a scan. Blocking: call it from the
// CLI or the thread pool, not the daemon's loop.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace drove::logs {

// The last `n` lines of `path`, oldest first, without newlines. A final line without a newline
// counts as a line. A missing file is an error (ENOENT), so the caller can say which.
Result<std::vector<std::string>> tail_lines(const std::string& path, std::size_t n);

}  // namespace drove::logs
