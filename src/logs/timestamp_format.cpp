// dayjs-token rendering of a wall-clock time; see timestamp_format.hpp.
#include "logs/timestamp_format.hpp"

#include <ctime>

namespace drove::logs {
namespace {

constexpr const char* kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kDayNames[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

struct Civil {
  std::int64_t year;
  int month;    // 1..12
  int day;      // 1..31
  int weekday;  // 0 = Sunday
  int hour, minute, second, millisecond;
};

// Howard Hinnant's civil_from_days: exact for the proleptic Gregorian calendar.
Civil civil_from_ms(std::int64_t ms) {
  std::int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
  std::int64_t ms_of_day = ms - days * 86400000;
  Civil c{};
  c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = static_cast<std::int64_t>(yoe) + era * 400 + (c.month <= 2 ? 1 : 0);
  c.hour = static_cast<int>(ms_of_day / 3600000);
  c.minute = static_cast<int>(ms_of_day / 60000 % 60);
  c.second = static_cast<int>(ms_of_day / 1000 % 60);
  c.millisecond = static_cast<int>(ms_of_day % 1000);
  return c;
}

void append_number(std::string& out, std::int64_t value, int width) {
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(digits[--n]);
}

void append_offset(std::string& out, int offset_minutes, bool with_colon) {
  out.push_back(offset_minutes < 0 ? '-' : '+');
  const int abs_minutes = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  append_number(out, abs_minutes / 60, 2);
  if (with_colon) out.push_back(':');
  append_number(out, abs_minutes % 60, 2);
}

// The longest run dayjs recognises for each token letter.
std::size_t max_run(char c) {
  switch (c) {
    case 'Y':
    case 'M':
    case 'd':
      return 4;
    case 'D':
    case 'H':
    case 'h':
    case 'm':
    case 's':
    case 'Z':
      return 2;
    case 'S':
      return 3;
    case 'A':
    case 'a':
    case 'X':
    case 'x':
      return 1;
    default:
      return 0;
  }
}

}  // namespace

void append_timestamp(std::string& out, std::string_view format, std::int64_t wall_ms, int utc_offset_minutes) {
  const Civil c = civil_from_ms(wall_ms + std::int64_t{utc_offset_minutes} * 60000);
  std::size_t i = 0;
  while (i < format.size()) {
    const char ch = format[i];
    if (ch == '[') {
      const auto close = format.find(']', i + 1);
      if (close != std::string_view::npos) {
        out.append(format.substr(i + 1, close - i - 1));
        i = close + 1;
        continue;
      }
    }
    std::size_t run = 1;
    const std::size_t limit = max_run(ch);
    while (run < limit && i + run < format.size() && format[i + run] == ch) ++run;
    // "SS" or "S" alone is not a token in dayjs; only SSS is.
    if (limit == 0 || (ch == 'S' && run != 3)) {
      out.push_back(ch);
      ++i;
      continue;
    }
    i += run;
    const int hour12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
    switch (ch) {
      case 'Y':
        if (run == 2)
          append_number(out, c.year % 100, 2);
        else
          append_number(out, c.year, 4);
        break;
      case 'M':
        if (run <= 2)
          append_number(out, c.month, static_cast<int>(run));
        else if (run == 3)
          out.append(kMonthNames[c.month - 1], 3);
        else
          out.append(kMonthNames[c.month - 1]);
        break;
      case 'D':
        append_number(out, c.day, static_cast<int>(run));
        break;
      case 'd':
        if (run == 1)
          append_number(out, c.weekday, 1);
        else if (run == 4)
          out.append(kDayNames[c.weekday]);
        else
          out.append(kDayNames[c.weekday], run);
        break;
      case 'H':
        append_number(out, c.hour, static_cast<int>(run));
        break;
      case 'h':
        append_number(out, hour12, static_cast<int>(run));
        break;
      case 'm':
        append_number(out, c.minute, static_cast<int>(run));
        break;
      case 's':
        append_number(out, c.second, static_cast<int>(run));
        break;
      case 'S':
        append_number(out, c.millisecond, 3);
        break;
      case 'Z':
        append_offset(out, utc_offset_minutes, run == 1);
        break;
      case 'A':
        out.append(c.hour < 12 ? "AM" : "PM");
        break;
      case 'a':
        out.append(c.hour < 12 ? "am" : "pm");
        break;
      case 'X':
        append_number(out, wall_ms / 1000, 1);
        break;
      case 'x':
        append_number(out, wall_ms, 1);
        break;
      default:
        break;
    }
  }
}

int local_utc_offset_minutes(std::int64_t wall_ms) {
  const std::time_t seconds = static_cast<std::time_t>(wall_ms / 1000);
  std::tm local{};
  if (::localtime_r(&seconds, &local) == nullptr) return 0;
  return static_cast<int>(local.tm_gmtoff / 60);
}

}  // namespace drove::logs
