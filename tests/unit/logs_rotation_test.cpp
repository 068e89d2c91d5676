// Rotated-file names and retention (pure).
#include "logs/rotation.hpp"

#include <gtest/gtest.h>

namespace drove::logs {
namespace {

constexpr std::int64_t kT = 1709622489012;  // 2024-03-05T07:08:09.012Z

TEST(LogsRotation, RotatedNameCarriesLocalTimeBeforeTheExtension) {
  EXPECT_EQ(rotated_path("/l/api-out.log", kT, 0, 0), "/l/api-out__2024-03-05_07-08-09.log");
  EXPECT_EQ(rotated_path("/l/api-out.log", kT, 60, 2), "/l/api-out__2024-03-05_08-08-09_2.log");
  EXPECT_EQ(rotated_path("/l/noext", kT, 0, 0), "/l/noext__2024-03-05_07-08-09");
}

TEST(LogsRotation, ParsesOnlyItsOwnRotations) {
  auto plain = parse_rotated_name("api-out.log", "api-out__2024-03-05_07-08-09.log");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->stamp, "2024-03-05_07-08-09");
  EXPECT_FALSE(plain->compressed);
  auto seq = parse_rotated_name("api-out.log", "api-out__2024-03-05_07-08-09_12.log.gz");
  ASSERT_TRUE(seq);
  EXPECT_EQ(seq->sequence, 12);
  EXPECT_TRUE(seq->compressed);
  EXPECT_FALSE(parse_rotated_name("api-out.log", "api-out.log"));
  EXPECT_FALSE(parse_rotated_name("api-out.log", "api-out-1__2024-03-05_07-08-09.log"));
  EXPECT_FALSE(parse_rotated_name("api-out.log", "api-out__2024-03-05_07-08-0x.log"));
  EXPECT_FALSE(parse_rotated_name("api-out.log", "api-out__2024-03-05_07-08-09.txt"));
}

TEST(LogsRotation, RetainDeletesOldestRotationsCountingEachOnce) {
  const std::vector<std::string> entries = {
      "api.log",
      "api__2024-03-05_07-08-09_1.log.gz",
      "api__2024-03-05_07-08-09.log.gz",
      "api__2024-03-06_00-00-00.log",  // being compressed: both forms exist
      "api__2024-03-06_00-00-00.log.gz",
      "api__2024-03-04_23-59-59.log.gz",
      "other__2024-01-01_00-00-00.log",
  };
  EXPECT_EQ(rotated_files_to_delete("api.log", entries, 2),
            (std::vector<std::string>{"api__2024-03-04_23-59-59.log.gz", "api__2024-03-05_07-08-09.log.gz"}));
  EXPECT_TRUE(rotated_files_to_delete("api.log", entries, 0).empty());
  EXPECT_TRUE(rotated_files_to_delete("api.log", entries, 9).empty());
}

TEST(LogsRotation, NextMidnightIsWithinADay) {
  const std::int64_t delay = ms_until_next_local_midnight(kT);
  EXPECT_GT(delay, 0);
  EXPECT_LE(delay, 25 * 3600 * 1000);  // 25 h: a DST day
}

}  // namespace
}  // namespace drove::logs
