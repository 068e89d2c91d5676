// LineFramer: turns one stream's bytes (stdout or stderr of one instance) into rendered lines.
//
// Pure logic, no I/O: feed() takes whatever read() returned and appends to `out` only complete
// lines, so whoever appends `out` to a shared file never interleaves two writers inside a line.
// The unfinished tail is kept until its newline arrives, until the owner decides it has waited
// long enough (flush_partial(), e.g. a `process.stdout.write('progress...')`), or until it
// reaches the cap. A prefix (timestamp, JSON wrapper) is applied only at true line starts: a
// 1 MiB line arriving in sixteen reads gets exactly one prefix, and the continuation of a
// partial-line flush gets none.
//
// Raw format with no visitor is the fast path: one memrchr per chunk, no per-line work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace drove::logs {

struct LineFormat {
  enum class Kind { raw, timestamped, json };
  Kind kind = Kind::raw;
  std::string date_format;  // timestamped: "<ts>: " prefix; json: "" means ISO-8601 UTC
  std::string app_name;     // json fields
  int process_id = 0;
  bool is_err = false;
};

// One line as the framer saw it, for live subscribers.
struct FramedLine {
  std::string_view text;      // without the newline, without any prefix
  bool complete = true;       // false for a partial-line flush
  std::int64_t timestamp_ms;  // wall time the line's first byte arrived
};
using LineVisitor = std::function<void(const FramedLine&)>;

class LineFramer {
 public:
  static constexpr std::size_t kDefaultPartialCapBytes = std::size_t{8} << 20;

  explicit LineFramer(LineFormat format, std::size_t partial_cap_bytes = kDefaultPartialCapBytes);

  // Appends the rendering of every line `chunk` completes to `out`. `visitor` may be null.
  void feed(std::string_view chunk, std::int64_t now_wall_ms, std::string& out, const LineVisitor* visitor);
  // Renders the kept tail as is (no newline added) and forgets it.
  void flush_partial(std::string& out, const LineVisitor* visitor);

  [[nodiscard]] bool has_partial() const noexcept { return !partial_.empty(); }
  [[nodiscard]] std::size_t partial_size() const noexcept { return partial_.size(); }
  // When the kept tail's first byte arrived (meaningful only when has_partial()).
  [[nodiscard]] std::int64_t partial_started_ms() const noexcept { return partial_started_ms_; }

 private:
  void emit(std::string_view text, bool complete, std::int64_t timestamp_ms, std::string& out,
            const LineVisitor* visitor);
  void append_prefix(std::string& out, std::int64_t timestamp_ms);
  const std::string& timestamp_text(std::int64_t timestamp_ms);

  LineFormat format_;
  std::size_t partial_cap_bytes_;
  std::string partial_;
  std::int64_t partial_started_ms_ = 0;
  bool at_line_start_ = true;
  // Rendering one timestamp per distinct millisecond, and the zone offset once a minute, is what
  // keeps prefixed lines cheap.
  std::int64_t cached_ts_ms_ = -1;
  std::string cached_ts_text_;
  std::int64_t cached_offset_minute_ = -1;
  int cached_offset_minutes_ = 0;
};

}  // namespace drove::logs
