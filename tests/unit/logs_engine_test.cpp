// The log engine end to end: real writer processes, real pipes, real files, a real uv loop.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "logs/log_manager.hpp"
#include "logs_test_support.hpp"

namespace drove::logs {
namespace {

using testing::read_file;
using testing::start_writer;
using testing::TempDir;
using testing::TestLoop;

// Checks that `content` holds exactly lines "<tag> <n>" for every tag, n = 1..count, each tag's
// lines in order (tags may interleave between lines, never inside one).
void expect_sequences(const std::string& content, const std::vector<std::string>& tags, int count) {
  std::map<std::string, int> next;
  for (const auto& tag : tags) next[tag] = 1;
  std::size_t begin = 0;
  std::size_t bad = 0;
  for (std::size_t nl; (nl = content.find('\n', begin)) != std::string::npos; begin = nl + 1) {
    const std::string_view line(content.data() + begin, nl - begin);
    const auto space = line.find(' ');
    auto it = space == std::string_view::npos ? next.end() : next.find(std::string(line.substr(0, space)));
    if (it == next.end() || line.substr(space + 1) != std::to_string(it->second)) {
      if (++bad <= 3) ADD_FAILURE() << "unexpected line: " << line.substr(0, 80);
      continue;
    }
    ++it->second;
  }
  EXPECT_EQ(begin, content.size()) << "trailing bytes without newline";
  for (const auto& [tag, n] : next) EXPECT_EQ(n, count + 1) << "lines of " << tag;
}

TEST(LogsEngine, MillionLinesFromFourWritersArriveWholeOncePerStreamInOrder) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  constexpr int kPerStream = 125000;  // 4 writers x (stdout + stderr) x 125k = 1,000,000 lines
  std::vector<testing::Writer> writers;
  std::vector<std::unique_ptr<InstanceOutput>> outputs;
  std::vector<std::string> out_tags;
  std::vector<std::string> err_tags;
  const auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < 4; ++w) {
    const std::string o = "o" + std::to_string(w);
    const std::string e = "e" + std::to_string(w);
    out_tags.push_back(o);
    err_tags.push_back(e);
    writers.push_back(start_writer("seq -f '" + o + " %.0f' 1 " + std::to_string(kPerStream) + " & seq -f '" + e +
                                   " %.0f' 1 " + std::to_string(kPerStream) + " >&2; wait"));
    // Fork-mode merge_logs: every instance appends to the same two files.
    outputs.push_back(manager.attach(
        {.app_name = "app", .instance_id = w, .out_path = dir / "app-out.log", .err_path = dir / "app-error.log"},
        std::move(writers.back().out), std::move(writers.back().err)));
  }
  ASSERT_TRUE(loop.run_until(
      [&] {
        for (auto& output : outputs) {
          if (!output->drained()) return false;
        }
        return true;
      },
      60000));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[engine] 1,000,000 lines from 4 processes in %.3f s: %.2f M lines/s\n", seconds, 1.0 / seconds);
  for (auto& writer : writers) EXPECT_EQ(writer.wait_exit(), 0);

  expect_sequences(read_file(dir / "app-out.log"), out_tags, kPerStream);
  expect_sequences(read_file(dir / "app-error.log"), err_tags, kPerStream);
  const auto stats = manager.stats();
  for (const auto& file : stats["files"]) {
    EXPECT_EQ(file["bytes_dropped"], 0);
    EXPECT_EQ(file["lines_written"], 4 * kPerStream);
  }
}

TEST(LogsEngine, OneMegabyteLineArrivesIntactWithExactlyOnePrefix) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  // tr writes the line in many small pieces; the pipe delivers it in many reads.
  auto writer = start_writer("head -c 1048576 /dev/zero | tr '\\0' x; echo; echo after");
  auto output = manager.attach({.app_name = "big", .out_path = dir / "out.log", .time = true, .date_format = "[T]"},
                               std::move(writer.out), std::move(writer.err));
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(writer.wait_exit(), 0);
  const std::string content = read_file(dir / "out.log");
  EXPECT_TRUE(content == "T: " + std::string(1048576, 'x') + "\nT: after\n")
      << "size " << content.size() << ", prefixes: " << std::count(content.begin(), content.end(), 'T');
}

TEST(LogsEngine, LogPathUnderMissingDirectoriesIsCreated) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  auto writer = start_writer("echo hello; echo oops >&2");
  auto output = manager.attach({.app_name = "a", .out_path = dir / "x/y/z/out.log", .err_path = dir / "x/err.log"},
                               std::move(writer.out), std::move(writer.err));
  EXPECT_FALSE(output->open_error());
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(read_file(dir / "x/y/z/out.log"), "hello\n");
  EXPECT_EQ(read_file(dir / "x/err.log"), "oops\n");
}

TEST(LogsEngine, UncreatableLogPathIsReportedByNameAndTheAppStillRuns) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  { std::ofstream(dir / "file") << "not a directory"; }
  auto writer = start_writer("echo one; echo two");
  auto output = manager.attach({.app_name = "a", .out_path = dir / "file/sub/out.log"}, std::move(writer.out),
                               std::move(writer.err));
  ASSERT_TRUE(output->open_error());
  EXPECT_NE(output->open_error()->message().find(dir / "file/sub"), std::string::npos)
      << output->open_error()->message();
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(writer.wait_exit(), 0);
  const auto file = manager.stats()["files"][0];
  EXPECT_EQ(file["bytes_dropped"], 8);
  EXPECT_NE(file["last_error"].get<std::string>().find("file/sub"), std::string::npos);
}

TEST(LogsEngine, FailingSinkKeepsTheAppRunningAndCountsTheLoss) {
  TestLoop loop;
  LogManager manager(loop.get());
  auto writer = start_writer("i=0; while :; do echo line $i; i=$((i+1)); sleep 0.01; done");
  auto output =
      manager.attach({.app_name = "full", .out_path = "/dev/full"}, std::move(writer.out), std::move(writer.err));
  auto dropped = [&] {
    const auto files = manager.stats()["files"];
    return files.empty() ? 0 : files[0]["bytes_dropped"].get<std::uint64_t>();
  };
  ASSERT_TRUE(loop.run_until([&] { return dropped() > 100; }));
  EXPECT_TRUE(writer.running());
  EXPECT_FALSE(output->stats()["out"]["paused"].get<bool>());
  EXPECT_NE(manager.stats()["files"][0]["last_error"].get<std::string>().find("No space"), std::string::npos);
  ::kill(writer.pid, SIGKILL);
  writer.wait_exit();
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
}

TEST(LogsEngine, PartialLineIsFlushedAfterTheDelayAndContinuesWithoutPrefix) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  std::vector<LogLine> live;
  manager.subscribe([&](const LogLine& line) { live.push_back(line); });
  auto writer = start_writer("printf 'progress...'; read go; echo ' done'");
  auto output = manager.attach({.app_name = "p", .out_path = dir / "out.log", .time = true, .date_format = "[T]"},
                               std::move(writer.out), std::move(writer.err));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log") == "T: progress..."; }, 5000));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(90));
  EXPECT_TRUE(writer.running());  // flushed by the timer, not by EOF
  ASSERT_EQ(::write(writer.in.get(), "\n", 1), 1);
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(read_file(dir / "out.log"), "T: progress... done\n");
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].text, "progress...");
  EXPECT_TRUE(live[0].partial);
  EXPECT_EQ(live[1].text, " done");
  EXPECT_FALSE(live[1].partial);
  EXPECT_EQ(live[1].app_name, "p");
}

TEST(LogsEngine, FragmentInASharedFileWaitsForItsNewline) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  auto slow = start_writer("printf 'frag'; read go; echo ment");
  auto chatty = start_writer("while read line; do echo \"$line\"; done");
  auto slow_output = manager.attach({.app_name = "m", .instance_id = 0, .out_path = dir / "out.log"},
                                    std::move(slow.out), std::move(slow.err));
  auto chatty_output = manager.attach({.app_name = "m", .instance_id = 1, .out_path = dir / "out.log"},
                                      std::move(chatty.out), std::move(chatty.err));
  ASSERT_EQ(::write(chatty.in.get(), "other\n", 6), 6);
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log") == "other\n"; }));
  loop.run_until([] { return false; }, 300);  // well past the partial-flush delay
  EXPECT_EQ(read_file(dir / "out.log"), "other\n");
  ASSERT_EQ(::write(slow.in.get(), "\n", 1), 1);
  chatty.in.reset();
  ASSERT_TRUE(loop.run_until([&] { return slow_output->drained() && chatty_output->drained(); }));
  EXPECT_EQ(read_file(dir / "out.log"), "other\nfragment\n");
}

TEST(LogsEngine, JsonLinesGoToStreamFilesAndCombinedLogAndSubscribers) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  std::vector<LogLine> live;
  const int token = manager.subscribe([&](const LogLine& line) { live.push_back(line); });
  auto writer = start_writer("echo to-out; echo to-err >&2");
  auto output = manager.attach({.app_name = "j",
                                .instance_id = 7,
                                .out_path = dir / "out.log",
                                .err_path = dir / "err.log",
                                .combined_path = dir / "all.log",
                                .json = true},
                               std::move(writer.out), std::move(writer.err));
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  manager.unsubscribe(token);
  const auto out = nlohmann::json::parse(read_file(dir / "out.log"));
  EXPECT_EQ(out["message"], "to-out\n");
  EXPECT_EQ(out["type"], "out");
  EXPECT_EQ(out["process_id"], 7);
  EXPECT_EQ(out["app_name"], "j");
  EXPECT_EQ(nlohmann::json::parse(read_file(dir / "err.log"))["type"], "err");
  const std::string all = read_file(dir / "all.log");
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 2);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].is_err ? live[0].text : live[1].text, "to-err");
}

TEST(LogsEngine, DisabledLogsDrainTheAppAndWriteNothing) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  int live = 0;
  manager.subscribe([&](const LogLine&) { ++live; });
  auto writer = start_writer("seq 1 200000");  // more than a pipe holds: it must be drained
  auto output = manager.attach({.app_name = "d", .out_path = dir / "out.log", .disable = true}, std::move(writer.out),
                               std::move(writer.err));
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(writer.wait_exit(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.log"));
  EXPECT_EQ(live, 0);
}

TEST(LogsEngine, ReopenFollowsExternalRotationAndFlushTruncates) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  auto writer = start_writer("while read line; do echo \"$line\"; done");
  auto output =
      manager.attach({.app_name = "r", .out_path = dir / "out.log"}, std::move(writer.out), std::move(writer.err));
  auto say = [&](const std::string& line) {
    ASSERT_EQ(::write(writer.in.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
  };
  say("first\n");
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log") == "first\n"; }));
  ASSERT_EQ(::rename((dir / "out.log").c_str(), (dir / "out.log.1").c_str()), 0);  // logrotate
  ASSERT_TRUE(manager.reopen_all().ok());
  say("second\n");
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log") == "second\n"; }));
  EXPECT_EQ(read_file(dir / "out.log.1"), "first\n");
  ASSERT_TRUE(manager.flush({dir / "out.log", dir / "not-open.log"}).ok());
  say("third\n");
  ASSERT_TRUE(loop.run_until([&] { return read_file(dir / "out.log") == "third\n"; }));
  writer.in.reset();
  ASSERT_TRUE(loop.run_until([&] { return output->drained(); }));
  EXPECT_EQ(writer.wait_exit(), 0);
}

TEST(LogsEngine, DrainedCallbackMayDestroyTheOutput) {
  TestLoop loop;
  TempDir dir;
  LogManager manager(loop.get());
  auto writer = start_writer("echo bye");
  auto output =
      manager.attach({.app_name = "x", .out_path = dir / "out.log"}, std::move(writer.out), std::move(writer.err));
  bool called = false;
  output->on_drained([&] {
    called = true;
    output.reset();
  });
  ASSERT_TRUE(loop.run_until([&] { return called; }));
  EXPECT_EQ(output, nullptr);
  EXPECT_EQ(read_file(dir / "out.log"), "bye\n");
}

}  // namespace
}  // namespace drove::logs
