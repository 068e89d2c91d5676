// PipeReader: drains one pipe (an instance's stdout or stderr read end) on the event loop.
//
// uv_poll plus our own non-blocking read() into a buffer shared by every reader of the daemon
// (the loop is single-threaded and each chunk is consumed before the next read), so a thousand
// instances cost one 64 KiB buffer, not a thousand. pause()/resume() are counted, for
// back-pressure from several files at once.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "base/unique_fd.hpp"
#include "base/uv_handle.hpp"

namespace drove::logs {

using ReadBuffer = std::shared_ptr<std::vector<char>>;

class PipeReader {
 public:
  struct Callbacks {
    std::function<void(std::string_view)> on_data;
    std::function<void()> on_eof;  // also after a read error: the stream is over either way
  };
  PipeReader(uv_loop_t* loop, UniqueFd fd, ReadBuffer buffer, Callbacks callbacks);
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  void pause();
  void resume();
  [[nodiscard]] bool paused() const noexcept { return pause_count_ > 0; }
  [[nodiscard]] bool at_eof() const noexcept { return at_eof_; }
  [[nodiscard]] std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  // The pipe's read end, -1 once closed (the keeper holds a duplicate: keeper/keeper.hpp).
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  void start_polling();
  void on_readable();
  void finish();

  UniqueFd fd_;
  ReadBuffer buffer_;
  Callbacks callbacks_;
  UvHandle<uv_poll_t> poll_;
  int pause_count_ = 0;
  bool at_eof_ = false;
  bool polling_ = false;
  std::uint64_t bytes_read_ = 0;
};

}  // namespace drove::logs
