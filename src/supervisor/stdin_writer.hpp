// The write end of a fork-mode app's stdin, held by the daemon: `drove send <id> <line>` and
// `drove attach` write to it (PM2's sendLineToStdin). Writes never block the loop: libuv queues
// them, and an app that does not read its stdin gets at most kMaxQueuedBytes queued, after which
// a send is refused instead of growing the daemon's memory.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"

namespace drove::supervisor {

class StdinWriter {
 public:
  static constexpr std::size_t kMaxQueuedBytes = 1 << 20;

  static Result<std::unique_ptr<StdinWriter>> open(uv_loop_t* loop, UniqueFd write_end);

  // Queues `bytes`; an error when the app left more than kMaxQueuedBytes unread, or its end is
  // closed. Pending bytes are dropped when the writer is destroyed (the run ended).
  Status write(std::string bytes);
  // Its pipe's write end (-1 when closed).
  [[nodiscard]] int fd() const noexcept;

 private:
  StdinWriter() = default;
  UvHandle<uv_pipe_t> pipe_;
};

}  // namespace drove::supervisor
