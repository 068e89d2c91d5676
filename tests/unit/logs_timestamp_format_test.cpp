// Timestamp rendering: every dayjs token PM2 users put in `log_date_format`.
#include "logs/timestamp_format.hpp"

#include <gtest/gtest.h>

namespace drove::logs {
namespace {

constexpr std::int64_t kTuesday = 1709622489012;  // 2024-03-05T07:08:09.012Z, a Tuesday

TEST(LogsTimestampFormat, DefaultFormatIsPm2s) {
  EXPECT_EQ(format_timestamp(kDefaultDateFormat, kTuesday, 0), "2024-03-05T07:08:09");
}

TEST(LogsTimestampFormat, DateAndTimeTokens) {
  EXPECT_EQ(format_timestamp("YYYY YY MM M DD D", kTuesday, 0), "2024 24 03 3 05 5");
  EXPECT_EQ(format_timestamp("HH H hh h mm m ss s SSS", kTuesday, 0), "07 7 07 7 08 8 09 9 012");
  EXPECT_EQ(format_timestamp("MMM MMMM", kTuesday, 0), "Mar March");
  EXPECT_EQ(format_timestamp("d dd ddd dddd", kTuesday, 0), "2 Tu Tue Tuesday");
  EXPECT_EQ(format_timestamp("x X", kTuesday, 0), "1709622489012 1709622489");
}

TEST(LogsTimestampFormat, TwelveHourClockAndMeridiem) {
  EXPECT_EQ(format_timestamp("h:mm A a", kTuesday + 6 * 3600000, 0), "1:08 PM pm");
  EXPECT_EQ(format_timestamp("hh A", kTuesday - 7 * 3600000, 0), "12 AM");
}

TEST(LogsTimestampFormat, OffsetShiftsFieldsAndRendersZone) {
  EXPECT_EQ(format_timestamp("YYYY-MM-DD HH:mm Z ZZ", kTuesday, 330), "2024-03-05 12:38 +05:30 +0530");
  EXPECT_EQ(format_timestamp("DD HH:mm Z", kTuesday, -480), "04 23:08 -08:00");
}

TEST(LogsTimestampFormat, BracketsAreLiteralAndUnknownLettersCopied) {
  EXPECT_EQ(format_timestamp("[YYYY at] HH [o'clock] q", kTuesday, 0), "YYYY at 07 o'clock q");
  EXPECT_EQ(format_timestamp("SS S", kTuesday, 0), "SS S");  // only SSS is a token
}

TEST(LogsTimestampFormat, LeapDayAndBeforeTheEpoch) {
  EXPECT_EQ(format_timestamp("YYYY-MM-DD HH:mm ddd", 1709249400000, 0), "2024-02-29 23:30 Thu");
  EXPECT_EQ(format_timestamp("YYYY-MM-DD HH:mm:ss.SSS ddd", -1, 0), "1969-12-31 23:59:59.999 Wed");
}

}  // namespace
}  // namespace drove::logs
