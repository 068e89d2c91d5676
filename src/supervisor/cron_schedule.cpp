#include "supervisor/cron_schedule.hpp"

#include <cctype>
#include <ctime>
#include <sstream>
#include <vector>

#include "config/cron_syntax.hpp"

namespace drove::supervisor {
namespace {

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

int value_of(std::string text, int min, bool months, bool weekdays) {
  if (std::isdigit(static_cast<unsigned char>(text[0]))) return std::stoi(text);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (months) {
    for (int i = 0; i < 12; ++i)
      if (text == kMonthNames[i]) return i + 1;
  }
  if (weekdays) {
    for (int i = 0; i < 7; ++i)
      if (text == kDayNames[i]) return i;
  }
  return min;  // unreachable for validated input
}

// Sets the bits of one field; `bits` is indexed by value. Returns whether the field restricts
// anything (anything but `*` / `?`, with or without a step of 1).
template <size_t N>
bool fill(const std::string& field, int min, int max, std::bitset<N>& bits, bool months = false,
          bool weekdays = false) {
  bool restricted = false;
  std::stringstream parts(field);
  std::string part;
  while (std::getline(parts, part, ',')) {
    int step = 1;
    std::string range = part;
    if (const auto slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      step = std::stoi(part.substr(slash + 1));
    }
    int low = min, high = max;
    if (range == "*" || range == "?") {
      if (step != 1) restricted = true;
    } else if (const auto dash = range.find('-'); dash != std::string::npos) {
      low = value_of(range.substr(0, dash), min, months, weekdays);
      high = value_of(range.substr(dash + 1), min, months, weekdays);
      restricted = true;
    } else {
      low = value_of(range, min, months, weekdays);
      // "5/15" is croner's "from 5, every 15" (like 5-59/15).
      high = part.find('/') != std::string::npos ? max : low;
      restricted = true;
    }
    for (int v = low; v <= high; v += step) bits.set(static_cast<size_t>(weekdays && v == 7 ? 0 : v));
  }
  return restricted;
}

std::string expand_macro(const std::string& expression) {
  if (expression == "@yearly" || expression == "@annually") return "0 0 1 1 *";
  if (expression == "@monthly") return "0 0 1 * *";
  if (expression == "@weekly") return "0 0 * * 0";
  if (expression == "@daily" || expression == "@midnight") return "0 0 * * *";
  if (expression == "@hourly") return "0 * * * *";
  return expression;
}

std::tm split(std::int64_t epoch_s, CronZone zone) {
  std::tm tm{};
  const auto t = static_cast<std::time_t>(epoch_s);
  if (zone == CronZone::utc) {
    ::gmtime_r(&t, &tm);
  } else {
    ::localtime_r(&t, &tm);
  }
  return tm;
}

// Normalises a broken-down time whose fields may be out of range ("minute 60").
std::int64_t join(std::tm tm, CronZone zone) {
  if (zone == CronZone::utc) return static_cast<std::int64_t>(::timegm(&tm));
  tm.tm_isdst = -1;  // let the zone decide: a wall time in a DST gap moves forward
  return static_cast<std::int64_t>(std::mktime(&tm));
}

}  // namespace

std::variant<CronSchedule, std::string> parse_cron(const std::string& written) {
  if (auto why = config::cron_syntax_error(written)) return *why;
  const std::string expression = expand_macro(written);
  std::stringstream words(expression);
  std::vector<std::string> fields;
  for (std::string word; words >> word;) fields.push_back(word);
  if (fields.size() == 5) fields.insert(fields.begin(), "0");
  CronSchedule s;
  fill(fields[0], 0, 59, s.seconds);
  fill(fields[1], 0, 59, s.minutes);
  fill(fields[2], 0, 23, s.hours);
  s.days_restricted = fill(fields[3], 1, 31, s.days);
  fill(fields[4], 1, 12, s.months, true);
  std::bitset<8> weekdays;
  s.weekdays_restricted = fill(fields[5], 0, 7, weekdays, false, true);
  for (size_t d = 0; d < 7; ++d) s.weekdays[d] = weekdays[d];
  return s;
}

std::optional<std::int64_t> next_cron_fire(const CronSchedule& s, std::int64_t after_epoch_s, CronZone zone) {
  const std::int64_t limit = after_epoch_s + 8LL * 366 * 24 * 3600;
  std::int64_t t = after_epoch_s + 1;
  // Each step jumps to the start of the next candidate month/day/hour/minute/second, so the
  // loop runs a few hundred times at most per year searched.
  while (t <= limit) {
    std::tm tm = split(t, zone);
    if (!s.months[static_cast<size_t>(tm.tm_mon + 1)]) {
      tm.tm_mon += 1, tm.tm_mday = 1, tm.tm_hour = 0, tm.tm_min = 0, tm.tm_sec = 0;
      t = join(tm, zone);
      continue;
    }
    const bool day_ok = s.days[static_cast<size_t>(tm.tm_mday)];
    const bool weekday_ok = s.weekdays[static_cast<size_t>(tm.tm_wday)];
    const bool day_matches =
        (s.days_restricted && s.weekdays_restricted) ? (day_ok || weekday_ok) : (day_ok && weekday_ok);
    if (!day_matches) {
      tm.tm_mday += 1, tm.tm_hour = 0, tm.tm_min = 0, tm.tm_sec = 0;
      t = join(tm, zone);
      continue;
    }
    if (!s.hours[static_cast<size_t>(tm.tm_hour)]) {
      tm.tm_hour += 1, tm.tm_min = 0, tm.tm_sec = 0;
      const std::int64_t next = join(tm, zone);
      t = next > t ? next : t + 3600;  // a DST fold can map the next hour back onto this one
      continue;
    }
    if (!s.minutes[static_cast<size_t>(tm.tm_min)]) {
      t += 60 - tm.tm_sec;
      continue;
    }
    if (!s.seconds[static_cast<size_t>(tm.tm_sec)]) {
      t += 1;
      continue;
    }
    return t;
  }
  return std::nullopt;
}

}  // namespace drove::supervisor
