// StdioForwarder (drove runtime's stdout): the three line styles, and back-pressure through
// the log engine's subscribers: a stdout nobody reads pauses the app's pipe, and every line
// arrives, whole and in order, once it is read again.
#include "daemon/stdio_forwarder.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "logs_test_support.hpp"

namespace drove::daemon {
namespace {

using logs::testing::make_pipe;
using logs::testing::start_writer;
using logs::testing::TestLoop;

TEST(StdioForwarder, RendersRawPrefixedAndJsonLines) {
  const logs::LogLine line{
      .app_name = "api", .instance_id = 3, .is_err = true, .text = "a \"b\"", .timestamp_ms = 0, .partial = false};
  std::string out;
  StdioForwarder::render(out, LineStyle::raw, line);
  EXPECT_EQ(out, "a \"b\"\n");
  out.clear();
  StdioForwarder::render(out, LineStyle::prefixed, line);
  EXPECT_EQ(out, "3|api | a \"b\"\n");
  out.clear();
  StdioForwarder::render(out, LineStyle::json, line);
  ASSERT_EQ(out.back(), '\n');
  const auto json = nlohmann::json::parse(out);
  EXPECT_EQ(json.value("message", ""), "a \"b\"\n");
  EXPECT_EQ(json.value("type", ""), "err");
  EXPECT_EQ(json.value("process_id", -1), 3);
  EXPECT_EQ(json.value("app_name", ""), "api");
  EXPECT_EQ(json.value("timestamp", ""), "1970-01-01T00:00:00.000Z");
}

TEST(StdioForwarder, UnreadStdoutPausesTheAppAndEveryLineArrivesInOrder) {
  TestLoop loop;
  logs::LogManager manager(loop.get());
  auto stdout_pipe = make_pipe();  // a FIFO, as a container's log driver gives
  constexpr int kLines = 1000000;  // ~6.9 MB: beyond the 256 KiB queue below and every pipe
  std::string expected;
  for (int i = 1; i <= kLines; ++i) expected += std::to_string(i) + "\n";

  auto forwarder = std::make_unique<StdioForwarder>(
      loop.get(), manager,
      StdioForwarder::Options{
          .style = LineStyle::raw, .out_fd = stdout_pipe.write.get(), .high_bytes = 256 << 10, .low_bytes = 64 << 10});
  auto writer = start_writer("seq 1 " + std::to_string(kLines));
  auto output = manager.attach({.app_name = "seq"}, std::move(writer.out), std::move(writer.err));  // no files

  auto paused = [&] { return output->stats()["out"]["paused"].get<bool>(); };
  ASSERT_TRUE(loop.run_until(paused, 10000));
  EXPECT_TRUE(writer.running()) << "the writer should be blocked in write(), not finished";
  EXPECT_LE(forwarder->queued_bytes(), std::size_t{256 << 10} + (64 << 10) + 4096);

  std::string received;
  std::atomic<bool> done{false};
  std::thread drain([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    char buffer[65536];
    while (received.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{stdout_pipe.read.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      const ssize_t n = ::read(stdout_pipe.read.get(), buffer, sizeof buffer);
      if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
    }
    done = true;
  });
  const bool drained = loop.run_until([&] { return done.load(); }, 60000);
  done = true;
  drain.join();
  ASSERT_TRUE(drained);
  EXPECT_EQ(writer.wait_exit(), 0);
  EXPECT_TRUE(received == expected) << "received " << received.size() << " of " << expected.size() << " bytes";
  EXPECT_FALSE(paused());
  forwarder.reset();
}

}  // namespace
}  // namespace drove::daemon
