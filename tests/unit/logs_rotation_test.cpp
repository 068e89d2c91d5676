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

#include "supervisor/output_spec_for_app.hpp"

namespace drove::supervisor {
namespace {

TEST(LogsOutputSpecForApp, DefaultsPerInstanceUnlessMerged) {
  AppSpec app;
  app.name = "my api/v2";
  app.log_max_size = 1024;
  app.log_compress = true;
  auto spec = output_spec_for(app, 3, "/h/logs");
  EXPECT_EQ(spec.out_path, "/h/logs/my_api_v2-out-3.log");
  EXPECT_EQ(spec.err_path, "/h/logs/my_api_v2-error-3.log");
  EXPECT_EQ(spec.combined_path, "");
  EXPECT_EQ(spec.rotation.max_size_bytes, 1024u);
  EXPECT_TRUE(spec.rotation.compress);
  app.merge_logs = true;
  app.out_file = "/var/log/api.log";
  app.error_file = "/dev/null";
  spec = output_spec_for(app, 3, "/h/logs");
  EXPECT_EQ(spec.out_path, "/var/log/api.log");
  EXPECT_EQ(spec.err_path, "/dev/null");
  EXPECT_EQ(with_instance_suffix("/a.b/noext", 1), "/a.b/noext-1");
}

}  // namespace
}  // namespace drove::supervisor
