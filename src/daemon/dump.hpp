// dump.json: the saved process list (`drove save`), written crash-safely: the new content goes
// to a temporary file that is fsync'd, the previous dump is kept as dump.json.bak, and a rename
// makes the switch atomic, so a crash at any point leaves a complete list behind. The write
// runs on libuv's thread pool, never on the loop. The file is 0600: it holds the apps'
// environments.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace drove::daemon {

// Writes `dump` to `path`; calls `done` on the loop's thread when finished.
void save_dump_async(uv_loop_t* loop, std::string path, nlohmann::json dump, std::function<void(Status)> done);

// Writes synchronously (used by the async version's worker and by tests).
Status write_dump_file(const std::string& path, const nlohmann::json& dump);

// Reads a dump; falls back to dump.json.bak when dump.json is missing or unreadable.
Result<nlohmann::json> read_dump_file(const std::string& path);

}  // namespace drove::daemon
