// Shared helpers of the libFuzzer targets (tests/fuzz/*_fuzz.cpp): feeding bytes through a real
// socketpair into code that reads from libuv, and failing loudly when an oracle is violated.
// Only the fuzz targets include this; nothing here is part of the engine.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/log.hpp"

namespace drove::fuzz {

// An oracle failed: libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz oracle violated: %s\n", what);
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Each line of `text` that ends in '\n' must be one JSON value.
inline std::size_t check_json_lines(std::string_view text, const char* what) {
  std::size_t lines = 0;
  for (std::size_t start = 0, nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    if (nlohmann::json::parse(text.substr(start, nl - start), nullptr, false).is_discarded()) fail(what);
    ++lines;
  }
  return lines;
}

// Reads whatever is readable on non-blocking `fd` into `sink`. False on EOF or error.
inline bool drain(int fd, std::string& sink) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      sink.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    return false;
  }
}

// Writes `bytes` to non-blocking `fd` in `chunk`-sized sends, turning `loop` between them so the
// reader sees the stream split at those points; replies are collected into `sink`. The first
// send carries `fd_to_pass` (if >= 0) as SCM_RIGHTS.
inline void send_in_chunks(uv_loop_t* loop, int fd, std::string_view bytes, std::size_t chunk, std::string& sink,
                           int fd_to_pass = -1) {
  // Each send costs a loop turn (an epoll_wait and a read or two): a 4 KiB input sent a byte at a
  // time made a few hundred executions a second. What the reader must survive is a message split
  // at any point and many messages per read, not thousands of reads per input: at most
  // kMaxSends sends, each at least `chunk` bytes, still split messages anywhere.
  constexpr std::size_t kMaxSends = 16;
  chunk = std::max({chunk, std::size_t{1}, (bytes.size() + kMaxSends - 1) / kMaxSends});
  std::size_t sent = 0;
  bool first = true;
  int stalls = 0;
  while (sent < bytes.size() && stalls < 100000) {
    const std::size_t n = std::min(chunk, bytes.size() - sent);
    iovec iov{const_cast<char*>(bytes.data() + sent), n};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (first && fd_to_pass >= 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    const ssize_t w = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<std::size_t>(w);
      first = false;
    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return;  // the reader closed: what it read so far is what counts
    } else {
      ++stalls;
    }
    uv_run(loop, UV_RUN_NOWAIT);
    drain(fd, sink);
  }
}

}  // namespace drove::fuzz

// drove's diagnostics are silenced so that stderr carries libFuzzer's and the sanitizers' reports
// only: why an input crashed is then in the CI log, not hidden by -close_fd_mask.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  drove::set_diagnostic_threshold(100);
  return 0;
}
