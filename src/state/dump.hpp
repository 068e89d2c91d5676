// dump.pm2: the saved process list (`drove save`), written crash-safely: the new content goes
// to a temporary file with a unique name (mkstemp, same directory) that is fsync'd, the
// previous dump is kept as dump.pm2.bak (unless it is broken: then it is set aside as
// dump.pm2.broken and the backup kept), a rename makes the switch atomic, and the directory
// is fsync'd so the rename itself survives a crash. The write runs on libuv's thread pool,
// never on the loop. The file is 0600: it holds the apps' environments.
//
// Saves are serialised by DumpWriter: one write in flight; a save asked meanwhile is queued,
// and a newer one replaces the queued state (the newest state wins, every asker is answered
// when a state at least as new as theirs is on disk). Two pool threads never touch the same
// files at once.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace drove::state {

// Writes synchronously (used by DumpWriter's worker and by tests).
Status write_dump_file(const std::string& path, const nlohmann::json& dump);

struct LoadedDump {
  nlohmann::json dump;
  std::string path;             // the file actually read
  std::string fallback_reason;  // non-empty when the backup was used: why the main file was not
};

// Reads a dump (drove's, or an array of pm2_env objects written by PM2); falls back to
// dump.pm2.bak when dump.pm2 is missing or unreadable, and says so in `fallback_reason`; a
// broken dump.pm2 is set aside (dump.pm2.broken). `legacy_path` (drove 0.1's dump.json) is read
// when there is neither dump.pm2 nor its backup.
Result<LoadedDump> read_dump_file(const std::string& path, const std::string& legacy_path = "");

class DumpWriter {
 public:
  using Done = std::function<void(Status)>;

  DumpWriter(uv_loop_t* loop, std::string path) : loop_(loop), path_(std::move(path)) {}
  DumpWriter(const DumpWriter&) = delete;
  DumpWriter& operator=(const DumpWriter&) = delete;

  // Writes `dump` (after the write in flight, if any); `done` runs on the loop's thread.
  void save(nlohmann::json dump, Done done);
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool busy() const { return in_flight_; }

 private:
  void start_next();

  uv_loop_t* loop_;
  std::string path_;
  bool in_flight_ = false;
  std::optional<nlohmann::json> queued_;
  std::vector<Done> queued_waiters_;
  // A write finishing after the writer is gone (daemon exit) must not touch it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace drove::state
