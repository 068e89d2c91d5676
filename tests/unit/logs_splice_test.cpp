// Exactly-once output capture (output_stream.hpp, SpliceRange in file_sink.hpp): bytes a write
// takes from a pipe with splice(2) are the bytes it writes, no more, no fewer; what it does not
// write leaves the pipe only when it is dropped; a raw stream peeks instead of reading.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "logs/file_sink.hpp"
#include "logs/log_manager.hpp"
#include "logs_test_support.hpp"

namespace drove::logs {
namespace {

using testing::make_pipe;
using testing::Pipe;
using testing::read_file;
using testing::start_writer;
using testing::TempDir;
using testing::TestLoop;

void put(const Pipe& pipe, const std::string& bytes) {
  ASSERT_EQ(::write(pipe.write.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

// What the pipe still holds (it must hold something: the tests leave a last line in it).
std::string rest_of(const Pipe& pipe) {
  const int flags = ::fcntl(pipe.read.get(), F_GETFL);
  ::fcntl(pipe.read.get(), F_SETFL, flags | O_NONBLOCK);
  std::string rest;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe.read.get(), buffer, sizeof buffer)) > 0;) rest.append(buffer, n);
  return rest;
}

// Puts `lines` and then "later\n" into the pipe, and runs `request` with `lines` as its bytes,
// all of them to be spliced from the pipe.
SinkOutcome splice_lines(FileSink& sink, const Pipe& pipe, const std::string& lines, SinkRequest request = {}) {
  put(pipe, lines + "later\n");
  const SpliceRange range{.begin = 0, .size = lines.size(), .source = pipe.read.get()};
  request.bytes = lines;
  request.splices = {&range, 1};
  return sink.run(request);
}

TEST(LogsSplice, AWriteTakesExactlyItsRangeFromThePipe) {
  TempDir dir;
  Pipe pipe = make_pipe();
  put(pipe, "a\nb\nlater\n");
  FileSink sink(dir / "out.log", {});
  ASSERT_TRUE(sink.open());
  // "x\n" was read earlier; "a\nb\n" is a copy of what the pipe starts with.
  const std::string bytes = "x\na\nb\n";
  const SpliceRange range{.begin = 2, .size = 4, .source = pipe.read.get()};
  const SinkOutcome outcome = sink.run({.bytes = bytes, .splices = {&range, 1}});
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.bytes_written, 6u);
  EXPECT_EQ(outcome.lines_written, 3u);
  EXPECT_EQ(read_file(dir / "out.log"), "x\na\nb\n");
  EXPECT_EQ(rest_of(pipe), "later\n");
}

TEST(LogsSplice, SizeRotationCutsASplicedRangeAtALineAndLosesNothing) {
  TempDir dir;
  Pipe pipe = make_pipe();
  FileSink sink(dir / "out.log", RotationPolicy{.max_size_bytes = 6});
  ASSERT_TRUE(sink.open());
  const SinkOutcome outcome = splice_lines(sink, pipe, "1\n2\n3\n4\n5\n6\n7\n", {.wall_ms = 1700000000000});
  EXPECT_FALSE(outcome.error);
  ASSERT_EQ(outcome.rotated_paths.size(), 2u);
  EXPECT_EQ(read_file(outcome.rotated_paths[0]), "1\n2\n3\n");
  EXPECT_EQ(read_file(outcome.rotated_paths[1]), "4\n5\n6\n");
  EXPECT_EQ(read_file(dir / "out.log"), "7\n");
  EXPECT_EQ(rest_of(pipe), "later\n");
}

TEST(LogsSplice, AFileShrunkMeanwhileIsAppendedAtItsEnd) {
  TempDir dir;
  Pipe pipe = make_pipe();
  FileSink sink(dir / "out.log", {});
  ASSERT_TRUE(sink.open());
  ASSERT_FALSE(sink.run({.bytes = "old line\n"}).error);
  ASSERT_EQ(::truncate((dir / "out.log").c_str(), 0), 0);  // an external copytruncate
  EXPECT_FALSE(splice_lines(sink, pipe, "new\n").error);
  EXPECT_EQ(read_file(dir / "out.log"), "new\n");  // no hole where the old line was
  EXPECT_EQ(rest_of(pipe), "later\n");
}

TEST(LogsSplice, IntoAFifoTheCopyIsWrittenAndTheRangeStillLeavesThePipe) {
  TempDir dir;
  const std::string fifo = dir / "out.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd fifo_reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(fifo_reader);
  Pipe pipe = make_pipe();
  FileSink sink(fifo, {});
  ASSERT_TRUE(sink.open());
  EXPECT_FALSE(sink.regular());
  EXPECT_FALSE(splice_lines(sink, pipe, "a\nb\n").error);
  char received[16] = {};
  EXPECT_EQ(::read(fifo_reader.get(), received, sizeof received), 4);
  EXPECT_EQ(std::string(received), "a\nb\n");
  EXPECT_EQ(rest_of(pipe), "later\n");
}

TEST(LogsSplice, AWriteThatFailsDropsItsRangeFromThePipeAndCountsIt) {
  TempDir dir;
  Pipe pipe = make_pipe();
  FileSink sink(dir / "missing/out.log", {});
  // Its directory is replaced by a file before the job runs: reopening fails.
  ASSERT_TRUE(sink.open());
  std::filesystem::remove_all(dir / "missing");
  std::ofstream(dir / "missing") << "not a directory\n";
  const SinkOutcome outcome = splice_lines(sink, pipe, "a\nb\n", {.reopen = true});
  EXPECT_TRUE(outcome.error);
  EXPECT_EQ(outcome.bytes_dropped, 4u);
  EXPECT_EQ(rest_of(pipe), "later\n");  // not read again by the stream as if new
}

TEST(LogsSplice, ARawStreamSplicesAndATimestampedOneReads) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  auto raw_writer = start_writer("seq 1 20000");
  auto raw = manager.attach({.app_name = "raw", .out_path = dir / "raw.log"}, std::move(raw_writer.out),
                            std::move(raw_writer.err));
  auto stamped_writer = start_writer("seq 1 20000");
  auto stamped = manager.attach({.app_name = "ts", .out_path = dir / "ts.log", .time = true, .date_format = "[T]"},
                                std::move(stamped_writer.out), std::move(stamped_writer.err));
  ASSERT_TRUE(loop.run_until([&] { return raw->drained() && stamped->drained(); }));
  std::string expected;
  std::string expected_stamped;
  for (int i = 1; i <= 20000; ++i) {
    expected += std::to_string(i) + "\n";
    expected_stamped += "T: " + std::to_string(i) + "\n";
  }
  EXPECT_EQ(read_file(dir / "raw.log"), expected);
  EXPECT_EQ(read_file(dir / "ts.log"), expected_stamped);
  EXPECT_EQ(raw->stats()["out"]["spliced_bytes"], expected.size());
  EXPECT_EQ(stamped->stats()["out"]["spliced_bytes"], 0);
}

// A partial line is in the file at once (raw bytes need no waiting); live subscribers see it as
// a partial line after the idle delay, then the rest, as with a read stream.
TEST(LogsSplice, APartialLineIsInTheFileAtOnceAndSubscribersSeeItAsPartial) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  std::vector<LogLine> live;
  manager.subscribe([&](const LogLine& line) { live.push_back(line); });
  auto writer = start_writer("printf 'progress...'; read go; echo ' done'");
  auto output =
      manager.attach({.app_name = "p", .out_path = dir / "out.log"}, std::move(writer.out), std::move(writer.err));
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log") == "progress..."; }, 5000));
  ASSERT_TRUE(loop.run_until([&] { return !live.empty(); }, 5000));
  EXPECT_TRUE(writer.running());
  EXPECT_EQ(live[0].text, "progress...");
  EXPECT_TRUE(live[0].partial);
  ASSERT_EQ(::write(writer.in.get(), "\n", 1), 1);
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(read_file(dir / "out.log"), "progress... done\n");
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[1].text, " done");
  EXPECT_FALSE(live[1].partial);
  EXPECT_GT(output->stats()["out"]["spliced_bytes"].get<std::uint64_t>(), 0u);
}

// With rotation a write must end a line (a rotation comes between two writes): a stream splices
// whole lines only, and reads a line's start that is alone in the pipe (the framer keeps it).
TEST(LogsSplice, WithRotationOnlyWholeLinesAreSpliced) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  auto writer = start_writer("printf '1\\n2\\nstart'; read go; echo ' end'");
  auto output = manager.attach(
      {.app_name = "r", .out_path = dir / "out.log", .rotation = RotationPolicy{.max_size_bytes = 1 << 20}},
      std::move(writer.out), std::move(writer.err));
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log").starts_with("1\n2\n"); }, 5000));
  EXPECT_EQ(output->stats()["out"]["spliced_bytes"], 4);
  ASSERT_TRUE(loop.run_until([&] { return output->stats()["out"]["partial_bytes"] == 5; }, 5000));
  ASSERT_EQ(::write(writer.in.get(), "\n", 1), 1);
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(read_file(dir / "out.log"), "1\n2\nstart end\n");
}

}  // namespace
}  // namespace drove::logs
