// Back-pressure: a writer faster than its sink is paused (blocks in write()), never dropped.
//
// The sink is a FIFO nobody reads at first: the engine's write job blocks in the thread pool
// exactly as on a stalled disk, with no test seam in the engine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "logs/log_manager.hpp"
#include "logs_test_support.hpp"

namespace drove::logs {
namespace {

using testing::start_writer;
using testing::TempDir;
using testing::TestLoop;

TEST(LogsBackPressure, StalledSinkPausesTheWriterAndLosesNothing) {
  TestLoop loop;
  TempDir dir;
  const std::string fifo = dir / "out.log";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd sink_reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(sink_reader);

  const WaterMarks marks{.high_bytes = 256 * 1024, .low_bytes = 64 * 1024};
  LogManager manager(loop.get(), {.water_marks = marks});
  constexpr int kLines = 3000000;  // ~21 MB, far beyond every buffer on the way
  std::string expected;
  for (int i = 1; i <= kLines; ++i) expected += std::to_string(i) + "\n";
  auto writer = start_writer("seq 1 " + std::to_string(kLines));
  auto output = manager.attach({.app_name = "bp", .out_path = fifo}, std::move(writer.out), std::move(writer.err));

  auto out_stats = [&] { return output->stats()["out"]; };
  ASSERT_TRUE(loop.run_until([&] { return out_stats()["paused"].get<bool>(); }, 10000));
  const auto read_when_paused = out_stats()["bytes_read"].get<std::uint64_t>();
  loop.run_until([] { return false; }, 300);  // a stretch with the sink still stalled
  EXPECT_EQ(out_stats()["bytes_read"].get<std::uint64_t>(), read_when_paused) << "kept reading while paused";
  EXPECT_LT(read_when_paused, expected.size() / 4);
  EXPECT_TRUE(writer.running()) << "the writer should be blocked in write(), not finished";
  const auto file = manager.stats()["files"][0];
  EXPECT_LE(file["queued_bytes"].get<std::size_t>(), marks.high_bytes + 64 * 1024);
  EXPECT_EQ(file["bytes_dropped"], 0);

  // Unstall the sink: read everything the engine writes into the FIFO.
  std::string received;
  std::atomic<bool> done{false};
  std::thread drain([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    char buffer[65536];
    while (received.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{sink_reader.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      const ssize_t n = ::read(sink_reader.get(), buffer, sizeof buffer);
      if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
    }
    done = true;
  });
  const bool drained = loop.run_until([&] { return output->drained() && done; }, 60000);
  done = true;
  drain.join();
  ASSERT_TRUE(drained);
  EXPECT_EQ(writer.wait_exit(), 0);
  EXPECT_TRUE(received == expected) << "received " << received.size() << " of " << expected.size() << " bytes";
  const auto after = manager.stats()["files"][0];
  EXPECT_EQ(after["bytes_dropped"], 0);
  EXPECT_GE(after["pauses"].get<int>(), 1);
}

}  // namespace
}  // namespace drove::logs
