// CronSchedule: a parsed `cron_restart` expression and the pure computation of its next firing
// time. PM2 hands the expression to croner with default options, so drove follows croner's
// rules: 5 fields (seconds = 0) or 6 (seconds first), lists, ranges, steps, month/day names,
// the @ macros, the system's local time zone, and day-of-month OR day-of-week when both are
// restricted (croner's legacyMode, Vixie cron's rule). Syntax errors are reported by
// config/cron_syntax before an expression gets here.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace drove::supervisor {

enum class CronZone { local, utc };

struct CronSchedule {
  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1..31
  std::bitset<13> months;   // 1..12
  std::bitset<7> weekdays;  // 0 = Sunday (7 is folded into 0)
  bool days_restricted = false;
  bool weekdays_restricted = false;
};

// The schedule, or why the expression is not one.
std::variant<CronSchedule, std::string> parse_cron(const std::string& expression);

// The first whole second strictly after `after_epoch_s` matching the schedule, in `zone`.
// nullopt when nothing matches within the next eight years (e.g. "0 0 30 2 *").
std::optional<std::int64_t> next_cron_fire(const CronSchedule& schedule, std::int64_t after_epoch_s,
                                           CronZone zone = CronZone::local);

}  // namespace drove::supervisor
