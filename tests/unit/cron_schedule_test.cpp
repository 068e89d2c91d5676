// next_cron_fire: the pure schedule computation behind `cron_restart` (UTC, so DST-free and
// independent of the machine's zone; one local-time case pins TZ itself).
#include "supervisor/cron_schedule.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace drove::supervisor {
namespace {

std::int64_t utc(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900, tm.tm_mon = month - 1, tm.tm_mday = day;
  tm.tm_hour = hour, tm.tm_min = minute, tm.tm_sec = second;
  return static_cast<std::int64_t>(::timegm(&tm));
}

CronSchedule parsed(const std::string& expression) {
  auto result = parse_cron(expression);
  EXPECT_TRUE(std::holds_alternative<CronSchedule>(result)) << expression;
  return std::get<CronSchedule>(result);
}

std::int64_t next(const std::string& expression, std::int64_t after) {
  auto fire = next_cron_fire(parsed(expression), after, CronZone::utc);
  EXPECT_TRUE(fire.has_value()) << expression;
  return fire.value_or(0);
}

TEST(CronSchedule, SixFieldSecondsStep) {
  const auto t0 = utc(2026, 3, 10, 12, 0, 0);
  EXPECT_EQ(next("*/2 * * * * *", t0), t0 + 2);
  EXPECT_EQ(next("*/2 * * * * *", t0 + 1), t0 + 2);
  EXPECT_EQ(next("*/15 * * * * *", t0 + 46), t0 + 60);
}

TEST(CronSchedule, FiveFieldsFireOnTheMinute) {
  const auto t0 = utc(2026, 3, 10, 12, 0, 30);
  EXPECT_EQ(next("* * * * *", t0), utc(2026, 3, 10, 12, 1, 0));
  EXPECT_EQ(next("*/5 * * * *", t0), utc(2026, 3, 10, 12, 5, 0));
  EXPECT_EQ(next("0 3 * * *", t0), utc(2026, 3, 11, 3, 0, 0));
}

TEST(CronSchedule, StrictlyAfter) {
  const auto t0 = utc(2026, 3, 10, 3, 0, 0);
  EXPECT_EQ(next("0 3 * * *", t0), utc(2026, 3, 11, 3, 0, 0));
}

TEST(CronSchedule, RangesListsAndRangeSteps) {
  const auto t0 = utc(2026, 3, 10, 12, 0, 0);  // a Tuesday
  EXPECT_EQ(next("0 9-17/4 * * *", t0), utc(2026, 3, 10, 13, 0, 0));
  EXPECT_EQ(next("10,20,40 * * * *", utc(2026, 3, 10, 12, 25, 0)), utc(2026, 3, 10, 12, 40, 0));
  EXPECT_EQ(next("5/20 * * * *", utc(2026, 3, 10, 12, 30, 0)), utc(2026, 3, 10, 12, 45, 0));
}

TEST(CronSchedule, MonthEndsAndLeapDays) {
  EXPECT_EQ(next("0 0 31 * *", utc(2026, 4, 1, 0, 0, 0)), utc(2026, 5, 31, 0, 0, 0));  // April has 30
  EXPECT_EQ(next("0 0 29 2 *", utc(2026, 1, 1, 0, 0, 0)), utc(2028, 2, 29, 0, 0, 0));
  EXPECT_EQ(next("59 23 31 12 *", utc(2026, 12, 31, 23, 59, 0)), utc(2027, 12, 31, 23, 59, 0));
}

TEST(CronSchedule, NamesAndWeekdays) {
  const auto t0 = utc(2026, 3, 10, 12, 0, 0);  // Tuesday
  EXPECT_EQ(next("0 8 * * mon", t0), utc(2026, 3, 16, 8, 0, 0));
  EXPECT_EQ(next("0 8 * * 7", t0), utc(2026, 3, 15, 8, 0, 0));  // 7 is Sunday too
  EXPECT_EQ(next("0 0 1 jan-mar *", utc(2026, 4, 1, 0, 0, 0)), utc(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(next("0 0 * * MON-FRI", utc(2026, 3, 13, 12, 0, 0)), utc(2026, 3, 16, 0, 0, 0));
}

TEST(CronSchedule, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // croner's legacyMode (its default, PM2 does not change it): the 15th OR any Monday.
  const auto t0 = utc(2026, 3, 10, 12, 0, 0);  // Tuesday 10th
  EXPECT_EQ(next("0 0 15 * mon", t0), utc(2026, 3, 15, 0, 0, 0));
  EXPECT_EQ(next("0 0 15 * tue", t0), utc(2026, 3, 15, 0, 0, 0));
  EXPECT_EQ(next("0 0 20 * mon", t0), utc(2026, 3, 16, 0, 0, 0));
}

TEST(CronSchedule, Macros) {
  const auto t0 = utc(2026, 3, 10, 12, 30, 0);
  EXPECT_EQ(next("@hourly", t0), utc(2026, 3, 10, 13, 0, 0));
  EXPECT_EQ(next("@daily", t0), utc(2026, 3, 11, 0, 0, 0));
  EXPECT_EQ(next("@monthly", t0), utc(2026, 4, 1, 0, 0, 0));
  EXPECT_EQ(next("@yearly", t0), utc(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(next("@weekly", t0), utc(2026, 3, 15, 0, 0, 0));
}

TEST(CronSchedule, ImpossibleDateNeverFires) {
  EXPECT_FALSE(next_cron_fire(parsed("0 0 30 2 *"), utc(2026, 1, 1, 0, 0, 0), CronZone::utc).has_value());
}

TEST(CronSchedule, InvalidExpressionSaysWhy) {
  auto result = parse_cron("0 25 * * *");
  ASSERT_TRUE(std::holds_alternative<std::string>(result));
  EXPECT_NE(std::get<std::string>(result).find("hour"), std::string::npos);
}

TEST(CronSchedule, LocalTimeFollowsTheZone) {
  // PM2 (croner without a timezone option) fires on the daemon's local wall clock.
  const char* saved = std::getenv("TZ");
  const std::string previous = saved ? saved : "";
  ::setenv("TZ", "UTC-5", 1);  // POSIX sign: 5 hours ahead of UTC, no DST
  ::tzset();
  auto fire = next_cron_fire(parsed("0 0 * * *"), utc(2026, 3, 10, 12, 0, 0), CronZone::local);
  if (saved) {
    ::setenv("TZ", previous.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
  EXPECT_EQ(fire.value_or(0), utc(2026, 3, 10, 19, 0, 0));  // local midnight = 19:00 UTC
}

}  // namespace
}  // namespace drove::supervisor
