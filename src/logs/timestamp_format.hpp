// Timestamps for log lines, in dayjs format tokens (what PM2's `log_date_format` takes).
//
// Pure: the caller supplies the wall time and the UTC offset, so formatting never touches the
// time-zone database (localtime_r takes a lock and reads TZ state; at millions of lines per second
// the framer calls local_utc_offset_minutes() at most once a minute and caches the rendering).
//
// Tokens: YYYY YY M MM MMM MMMM D DD d dd ddd dddd H HH h hh m mm s ss SSS Z ZZ A a X x, and
// [literal text]. Anything else is copied as is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace drove::logs {

// PM2's format when `time: true` and no `log_date_format` is given.
inline constexpr std::string_view kDefaultDateFormat = "YYYY-MM-DDTHH:mm:ss";
// JSON lines without a date format carry an ISO-8601 UTC timestamp, like JS Date.toISOString().
inline constexpr std::string_view kIsoUtcFormat = "YYYY-MM-DDTHH:mm:ss.SSS[Z]";

void append_timestamp(std::string& out, std::string_view format, std::int64_t wall_ms, int utc_offset_minutes);

inline std::string format_timestamp(std::string_view format, std::int64_t wall_ms, int utc_offset_minutes) {
  std::string out;
  append_timestamp(out, format, wall_ms, utc_offset_minutes);
  return out;
}

// The local time zone's offset from UTC at `wall_ms`, in minutes (east positive).
int local_utc_offset_minutes(std::int64_t wall_ms);

}  // namespace drove::logs
