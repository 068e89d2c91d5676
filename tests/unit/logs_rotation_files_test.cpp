// Rotation on real files: by size, gzip off the loop, retention; no line lost or duplicated.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>

#include "logs/log_manager.hpp"
#include "logs/rotation.hpp"
#include "logs_test_support.hpp"

namespace drove::logs {
namespace {

using testing::read_file;
using testing::start_writer;
using testing::TempDir;
using testing::TestLoop;

std::string gunzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  EXPECT_NE(file, nullptr) << path;
  if (file == nullptr) return {};
  std::string out;
  char buffer[65536];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  EXPECT_EQ(n, 0) << "corrupt gzip " << path;
  gzclose(file);
  return out;
}

std::string seq_output(int count) {
  std::string out;
  for (int i = 1; i <= count; ++i) out += std::to_string(i) + "\n";
  return out;
}

// Rotated siblings of `live_name`, oldest first.
std::vector<RotatedFile> rotations_of(const TempDir& dir, const std::string& live_name) {
  std::vector<RotatedFile> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (auto parsed = parse_rotated_name(live_name, entry.path().filename().string())) found.push_back(*parsed);
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return std::tie(a.stamp, a.sequence) < std::tie(b.stamp, b.sequence); });
  return found;
}

struct RotationRun {
  std::string expected;
  std::vector<RotatedFile> rotated;
  std::string live;
  nlohmann::json file_stats;
};

RotationRun run_rotation(const TempDir& dir, RotationPolicy policy, int lines) {
  TestLoop loop;
  LogManager manager(loop.get());
  auto writer = start_writer("seq 1 " + std::to_string(lines));
  auto output = manager.attach({.app_name = "rot", .out_path = dir / "out.log", .rotation = policy},
                               std::move(writer.out), std::move(writer.err));
  EXPECT_TRUE(loop.run_until(
      [&] {
        if (!output->drained()) return false;
        const auto files = manager.stats()["files"];
        return std::all_of(files.begin(), files.end(), [](const auto& f) { return f["compress_pending"] == 0; });
      },
      60000));
  EXPECT_EQ(writer.wait_exit(), 0);
  RotationRun run{seq_output(lines), rotations_of(dir, "out.log"), read_file(dir / "out.log"),
                  manager.stats()["files"][0]};
  return run;
}

TEST(LogsRotationFiles, SizeRotationWithCompressionLosesAndDuplicatesNothing) {
  TempDir dir;
  const RotationPolicy policy{.max_size_bytes = 64 * 1024, .retain = 0, .compress = true};
  const auto run = run_rotation(dir, policy, 200000);  // ~1.3 MB: about 20 rotations
  ASSERT_GE(run.rotated.size(), 15u);
  std::string all;
  for (const auto& rotated : run.rotated) {
    ASSERT_TRUE(rotated.compressed) << rotated.file_name << " left uncompressed";
    const std::string content = gunzip(dir / rotated.file_name);
    EXPECT_LE(content.size(), policy.max_size_bytes);
    EXPECT_GT(content.size(), policy.max_size_bytes - 16);  // filled up to the last whole line
    EXPECT_EQ(content.back(), '\n');
    all += content;
  }
  all += run.live;
  EXPECT_TRUE(all == run.expected) << "reassembled " << all.size() << " bytes, expected " << run.expected.size();
  EXPECT_EQ(run.file_stats["rotations"], run.rotated.size());
  EXPECT_EQ(run.file_stats["bytes_dropped"], 0);
}

TEST(LogsRotationFiles, RetainKeepsOnlyTheNewestRotations) {
  TempDir dir;
  const RotationPolicy policy{.max_size_bytes = 32 * 1024, .retain = 3, .compress = true};
  const auto run = run_rotation(dir, policy, 100000);
  ASSERT_EQ(run.rotated.size(), 3u);
  std::string kept;
  for (const auto& rotated : run.rotated) {
    ASSERT_TRUE(rotated.compressed);
    kept += gunzip(dir / rotated.file_name);
  }
  kept += run.live;
  // What is kept is exactly the end of the stream, starting at a line boundary.
  ASSERT_LT(kept.size(), run.expected.size());
  const std::size_t offset = run.expected.size() - kept.size();
  EXPECT_EQ(run.expected[offset - 1], '\n');
  EXPECT_TRUE(run.expected.compare(offset, std::string::npos, kept) == 0);
}

TEST(LogsRotationFiles, UncompressedRotationPrunesOnTheWriterJob) {
  TempDir dir;
  const auto run = run_rotation(dir, {.max_size_bytes = 16 * 1024, .retain = 2}, 20000);
  ASSERT_EQ(run.rotated.size(), 2u);
  EXPECT_FALSE(run.rotated[0].compressed);
  const std::string kept =
      read_file(dir / run.rotated[0].file_name) + read_file(dir / run.rotated[1].file_name) + run.live;
  EXPECT_TRUE(run.expected.ends_with(kept));
}

}  // namespace
}  // namespace drove::logs
