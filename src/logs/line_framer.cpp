// Line framing and rendering for one stream; see line_framer.hpp.
#include "logs/line_framer.hpp"

#include <cstring>
#include <utility>

#include "logs/json_line.hpp"
#include "logs/timestamp_format.hpp"

namespace drove::logs {

LineFramer::LineFramer(LineFormat format, std::size_t partial_cap_bytes)
    : format_(std::move(format)), partial_cap_bytes_(partial_cap_bytes) {
  if (format_.kind == LineFormat::Kind::timestamped && format_.date_format.empty()) {
    format_.date_format = std::string(kDefaultDateFormat);
  }
}

void LineFramer::feed(std::string_view chunk, std::int64_t now_wall_ms, std::string& out, const LineVisitor* visitor) {
  if (chunk.empty()) return;
  if (partial_.empty()) partial_started_ms_ = now_wall_ms;

  if (format_.kind == LineFormat::Kind::raw && visitor == nullptr) {
    const void* last = ::memrchr(chunk.data(), '\n', chunk.size());
    if (last == nullptr) {
      partial_.append(chunk);
    } else {
      const auto end = static_cast<std::size_t>(static_cast<const char*>(last) - chunk.data()) + 1;
      out.append(partial_);
      out.append(chunk.substr(0, end));
      partial_.assign(chunk.substr(end));
      partial_started_ms_ = now_wall_ms;
      at_line_start_ = true;
    }
  } else {
    std::size_t pos = 0;
    while (pos < chunk.size()) {
      const void* nl = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
      if (nl == nullptr) break;
      const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - chunk.data());
      if (partial_.empty()) {
        emit(chunk.substr(pos, end - pos), true, now_wall_ms, out, visitor);
      } else {
        partial_.append(chunk.substr(pos, end - pos));
        emit(partial_, true, partial_started_ms_, out, visitor);
        partial_.clear();
      }
      pos = end + 1;
    }
    if (pos < chunk.size()) {
      if (partial_.empty()) partial_started_ms_ = now_wall_ms;
      partial_.append(chunk.substr(pos));
    }
  }
  if (partial_.size() >= partial_cap_bytes_) flush_partial(out, visitor);
}

void LineFramer::flush_partial(std::string& out, const LineVisitor* visitor) {
  if (partial_.empty()) return;
  emit(partial_, false, partial_started_ms_, out, visitor);
  partial_.clear();
}

void LineFramer::emit(std::string_view text, bool complete, std::int64_t timestamp_ms, std::string& out,
                      const LineVisitor* visitor) {
  switch (format_.kind) {
    case LineFormat::Kind::raw:
      out.append(text);
      if (complete) out.push_back('\n');
      break;
    case LineFormat::Kind::timestamped:
      if (at_line_start_) append_prefix(out, timestamp_ms);
      out.append(text);
      if (complete) out.push_back('\n');
      break;
    case LineFormat::Kind::json:
      append_json_line(out, {.message = text,
                             .ends_line = complete,
                             .timestamp = timestamp_text(timestamp_ms),
                             .is_err = format_.is_err,
                             .process_id = format_.process_id,
                             .app_name = format_.app_name});
      break;
  }
  at_line_start_ = complete;
  if (visitor != nullptr && *visitor) (*visitor)(FramedLine{text, complete, timestamp_ms});
}

void LineFramer::append_prefix(std::string& out, std::int64_t timestamp_ms) {
  out.append(timestamp_text(timestamp_ms));
  out.append(": ");  // PM2's separator between the date and the line
}

const std::string& LineFramer::timestamp_text(std::int64_t timestamp_ms) {
  if (timestamp_ms == cached_ts_ms_) return cached_ts_text_;
  cached_ts_ms_ = timestamp_ms;
  cached_ts_text_.clear();
  if (format_.kind == LineFormat::Kind::json && format_.date_format.empty()) {
    append_timestamp(cached_ts_text_, kIsoUtcFormat, timestamp_ms, 0);
    return cached_ts_text_;
  }
  const std::int64_t minute = timestamp_ms / 60000;
  if (minute != cached_offset_minute_) {
    cached_offset_minute_ = minute;
    cached_offset_minutes_ = local_utc_offset_minutes(timestamp_ms);
  }
  append_timestamp(cached_ts_text_, format_.date_format, timestamp_ms, cached_offset_minutes_);
  return cached_ts_text_;
}

}  // namespace drove::logs
