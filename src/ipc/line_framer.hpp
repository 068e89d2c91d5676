// LineFramer: turns the byte stream of a Node IPC channel ("json" serialization) into complete
// lines. Node frames each message as JSON.stringify(value) + "\n"; a message may span several
// reads and one read may hold several messages. Splitting on the byte '\n' is UTF-8 safe (it never
// occurs inside a multibyte sequence). Pure: no I/O, unit-tested alone.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace drove::ipc {

class LineFramer {
 public:
  // A peer that never sends '\n' must not make us buffer without limit.
  static constexpr std::size_t kDefaultMaxLineBytes = 64u * 1024u * 1024u;

  explicit LineFramer(std::size_t max_line_bytes = kDefaultMaxLineBytes) : max_line_bytes_(max_line_bytes) {}

  // Appends `chunk` and moves every complete, non-blank line (without its '\n', and without a
  // trailing '\r') into `out`. Returns false once a line grew beyond the bound; the framer is
  // then poisoned (the stream cannot be resynchronised) and every later feed returns false.
  bool feed(std::string_view chunk, std::vector<std::string>& out);

  [[nodiscard]] std::size_t buffered_bytes() const noexcept { return partial_.size(); }
  [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }

 private:
  std::size_t max_line_bytes_;
  std::string partial_;  // bytes after the last '\n'
  bool overflowed_ = false;
};

}  // namespace drove::ipc
