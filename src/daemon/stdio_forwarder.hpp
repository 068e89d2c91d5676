// StdioForwarder: `drove runtime` writes every app's output to its own stdout and stderr, where
// a container's log driver (or systemd's journal, or a terminal) collects it.
//
// Each line is written whole: stdout lines of every instance to fd 1, stderr lines to fd 2,
// in the order the daemon read them from each pipe. A partial line the log engine flushed
// (an app that printed without a newline, then paused) is written as a line of its own, so
// two apps' lines never mix on one terminal line.
//
// Nothing is lost and the loop never blocks on a slow reader: on a FIFO (what Docker and
// containerd give a container) the forwarder writes through its own non-blocking open file
// description (/proc/self/fd/N reopened, so the flags of the descriptor shared with others are
// untouched); on a socket with MSG_DONTWAIT. What the reader has not taken waits in a queue;
// above the high-water mark every app's pipe is paused (LogManager back-pressure) until the
// queue drains below the low one: apps block in write(), as with a slow disk. A terminal, a
// regular file or /dev/null is written to directly (they do not stall).
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"
#include "logs/log_manager.hpp"

namespace drove::daemon {

enum class LineStyle {
  raw,       // the app's text as it printed it (pm2-runtime's default)
  prefixed,  // "<id>|<name> | <text>" (pm2-runtime --formatted)
  json,      // {"message","timestamp","type","process_id","app_name"} per line (--json)
};

class StdioForwarder {
 public:
  struct Options {
    LineStyle style = LineStyle::raw;
    int out_fd = 1;
    int err_fd = 2;
    std::size_t high_bytes = std::size_t{4} << 20;
    std::size_t low_bytes = std::size_t{1} << 20;
  };

  StdioForwarder(uv_loop_t* loop, logs::LogManager& logs, Options options);
  StdioForwarder(const StdioForwarder&) = delete;
  StdioForwarder& operator=(const StdioForwarder&) = delete;
  // Writes what is still queued, blocking (the process is about to exit: the last lines of
  // the apps must reach the log driver).
  ~StdioForwarder();

  // Appends one line in the chosen style (without touching any fd). Pure; tested alone.
  static void render(std::string& out, LineStyle style, const logs::LogLine& line);

  [[nodiscard]] std::size_t queued_bytes() const noexcept { return out_.queue.size() + err_.queue.size(); }

 private:
  enum class Kind { direct, fifo, socket };
  struct Sink {
    StdioForwarder* owner = nullptr;
    int fd = -1;        // where bytes go (ours when reopened)
    UniqueFd reopened;  // a FIFO's own open file description, non-blocking
    Kind kind = Kind::direct;
    std::string queue;  // bytes not yet written, in order
    UvHandle<uv_poll_t> poll;
    bool polling = false;  // waiting for room
    bool dirty = false;    // lines queued this turn of the loop
  };

  void open_sink(Sink& sink, int fd);
  void on_line(const logs::LogLine& line);
  void flush(Sink& sink);  // writes as much as the reader takes now
  void flush_batched();
  void update_pressure();

  uv_loop_t* loop_;
  logs::LogManager& logs_;
  Options options_;
  Sink out_;
  Sink err_;
  UvHandle<uv_check_t> batch_;
  int token_ = -1;
  bool pressure_ = false;
  std::string line_;
};

}  // namespace drove::daemon
