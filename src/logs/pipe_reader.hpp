// PipeReader: drains one pipe (an instance's stdout or stderr read end) on the event loop.
//
// uv_poll plus our own non-blocking read() into a buffer shared by every reader of the daemon
// (the loop is single-threaded and each chunk is consumed before the next read), so a thousand
// instances cost one 64 KiB buffer, not a thousand. pause()/resume() are counted, for
// back-pressure from several files at once.
//
// Peeking: when the owner wants it (Callbacks::wants_peek), a wake-up copies the bytes at the
// head of the pipe with tee(2) through a scratch pipe instead of reading them: they stay in the
// pipe until the owner moves them out itself (LogFile::append_spliced), and reads nothing more
// meanwhile (it pauses the reader).
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
    std::function<void()> on_eof;      // also after a read error: the stream is over either way
    std::function<bool()> wants_peek;  // asked at each wake-up; may be empty
    // Bytes still at the head of the pipe. Returns how many of them to read after all (0: none;
    // they come to on_data), for what the owner cannot leave in the pipe.
    std::function<std::size_t(std::string_view)> on_peek;
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
  [[nodiscard]] int fd() const noexcept { return fd_ ? fd_->get() : -1; }
  // The same descriptor, for a write that moves peeked bytes out of the pipe after this reader
  // may be gone (it stays open as long as somebody holds it).
  [[nodiscard]] std::shared_ptr<const UniqueFd> shared_fd() const noexcept { return fd_; }

 private:
  void start_polling();
  void on_readable();
  void read_some(std::size_t at_most);
  void peek();
  void finish();

  std::shared_ptr<UniqueFd> fd_;
  ReadBuffer buffer_;
  Callbacks callbacks_;
  UvHandle<uv_poll_t> poll_;
  int pause_count_ = 0;
  bool at_eof_ = false;
  bool polling_ = false;
  bool peek_unsupported_ = false;  // not a pipe (tee refused it): read instead
  std::uint64_t bytes_read_ = 0;
};

}  // namespace drove::logs
