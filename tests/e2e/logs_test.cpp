// Logs through the real daemon: nothing lost, rotation, failing disks, `drove logs`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <sstream>

#include "harness.hpp"

namespace drove::e2e {
namespace {

TEST(Logs, MillionLinesFromFourInstancesAllKeptInOrder) {
  DroveHome home;
  const auto began = std::chrono::steady_clock::now();
  auto r = home.drove({"start", fixture("apps/lines.js"), "-i", "4", "--exec-mode", "fork", "--name", "flood"},
                      {{"LINES", "250000"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = home.processes("flood").at(0)["pm2_env"].value("pm_out_log_path", "");
  // Fork mode merges the instances into one file (PM2's default).
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string text = read_file(log);
        return text.find("done 0") != std::string::npos && text.find("done 1") != std::string::npos &&
               text.find("done 2") != std::string::npos && text.find("done 3") != std::string::npos;
      },
      std::chrono::seconds(60)));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::istringstream in(read_file(log));
  long next[4] = {0, 0, 0, 0};
  long total = 0, disorder = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("done", 0) == 0) continue;
    const int instance = line[0] - '0';
    ASSERT_TRUE(instance >= 0 && instance < 4 && line[1] == ':') << "torn line: " << line.substr(0, 80);
    const long n = std::atol(line.c_str() + 2);
    if (n != next[instance]) ++disorder;
    next[instance] = n + 1;
    ++total;
  }
  std::cout << "[ logs ] " << total << " lines in " << seconds << " s through the daemon\n";
  EXPECT_EQ(total, 1000000);
  EXPECT_EQ(disorder, 0);
  for (long n : next) EXPECT_EQ(n, 250000);
}

TEST(Logs, MegabyteLineArrivesWholeWithOnePrefix) {
  DroveHome home;
  auto r =
      home.drove({"start", fixture("apps/lines.js"), "--name", "big", "--time"}, {{"LINES", "3"}, {"BIG_LINE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string log = home.processes("big").at(0)["pm2_env"].value("pm_out_log_path", "");
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("done") != std::string::npos; }));
  std::istringstream in(read_file(log));
  bool found = false;
  for (std::string line; std::getline(in, line);) {
    const auto b = line.find('B');
    if (b == std::string::npos || line.size() < (1u << 20)) continue;
    found = true;
    EXPECT_EQ(line.size() - b, 1u << 20);  // every byte, on one line
    EXPECT_EQ(line.find_first_not_of('B', b), std::string::npos);
    EXPECT_GT(b, 0u);  // one timestamp prefix before it
  }
  EXPECT_TRUE(found);
}

TEST(Logs, SizeRotationKeepsRetainedCompressedFiles) {
  DroveHome home;
  const std::string dir = home.scratch() + "/rot";
  auto r = home.drove({"start", fixture("apps/lines.js"), "--name", "rot", "-o", dir + "/out.log", "--log-max-size",
                       "64K", "--log-retain", "3", "--log-compress"},
                      {{"LINES", "100000"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return read_file(dir + "/out.log").find("done") != std::string::npos; },
                         std::chrono::seconds(30)));
  size_t gz = 0, plain_rotated = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        gz = plain_rotated = 0;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
          const std::string name = entry.path().filename().string();
          if (name.size() > 3 && name.substr(name.size() - 3) == ".gz")
            ++gz;
          else if (name != "out.log")
            ++plain_rotated;
        }
        return gz == 3 && plain_rotated == 0;
      },
      std::chrono::seconds(30)))
      << gz << " compressed, " << plain_rotated << " uncompressed";
}

TEST(Logs, PathUnderMissingDirectoryIsCreated) {
  DroveHome home;
  const std::string path = home.scratch() + "/a/b/c/out.log";
  ASSERT_EQ(home.drove({"start", fixture("apps/lines.js"), "--name", "deep", "-o", path}, {{"LINES", "5"}}).exit_code,
            0);
  EXPECT_TRUE(wait_until([&] { return read_file(path).find("done") != std::string::npos; }));
}

TEST(Logs, FailingSinkLeavesAppRunningAndReportsTheLoss) {
  DroveHome home;
  auto r = home.drove({"start", fixture("apps/lines.js"), "--name", "full", "-o", "/dev/full"}, {{"LINES", "20000"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid = home.wait_online("full", 1).at(0);
  std::string described;
  ASSERT_TRUE(wait_until([&] {
    described = home.drove({"describe", "full"}).out;
    return described.find("DROPPED") != std::string::npos;
  })) << described;
  EXPECT_NE(described.find("No space left on device"), std::string::npos) << described;
  EXPECT_TRUE(pid_alive(pid));
  EXPECT_EQ(home.processes("full").at(0).value("pid", 0), pid);
  EXPECT_NE(read_file(home.path() + "/drove.log").find("/dev/full"), std::string::npos);
}

TEST(Logs, LogsCommandShowsLastLinesThenStreams) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/messenger.js"), "--name", "talk"}).exit_code, 0);
  home.wait_online("talk", 1);
  ASSERT_EQ(home.drove({"message", "talk", "first"}).exit_code, 0);
  const std::string log = home.processes("talk").at(0)["pm2_env"].value("pm_out_log_path", "");
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("first") != std::string::npos; }));
  auto r = home.drove({"logs", "talk", "--lines", "5", "--nostream"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("|talk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("received"), std::string::npos) << r.out;

  // Streaming: a line the app prints after `drove logs` started shows up live.
  const std::string streamed = home.scratch() + "/streamed.txt";
  const std::string pid_file = home.scratch() + "/stream.pid";
  auto stream = std::async(std::launch::async, [&] {
    return run_program({"sh", "-c",
                        "echo $$ > '" + pid_file + "'; exec timeout 30 '" + DROVE_BIN +
                            "' logs talk --lines 0 --raw > '" + streamed + "'"},
                       {{"DROVE_HOME", home.path()}});
  });
  // Keep sending until a line arrives through the stream (it subscribes asynchronously).
  EXPECT_TRUE(wait_until([&] {
    home.drove({"msg", "talk", "\"live-line\""});
    return read_file(streamed).find("live-line") != std::string::npos;
  }));
  ASSERT_TRUE(wait_until([&] { return !read_file(pid_file).empty(); }));
  ::kill(std::atoi(read_file(pid_file).c_str()), SIGTERM);
  stream.get();
}

}  // namespace
}  // namespace drove::e2e
