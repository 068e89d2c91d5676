// gzip_file(): compresses a rotated log. Blocking; runs on libuv's thread pool, never the loop.
#pragma once

#include <string>

#include "base/result.hpp"

namespace drove::logs {

// Writes `source` gzipped to `source + ".gz"`, then removes `source`. On failure the partial
// `.gz` is removed and `source` is kept, so no rotated line is ever lost to a failed compression.
Status gzip_file(const std::string& source);

}  // namespace drove::logs
