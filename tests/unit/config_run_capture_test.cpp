#include "process/run_capture.hpp"

#include <gtest/gtest.h>
#include <signal.h>

namespace drove::process {
namespace {

const std::map<std::string, std::string> kEnv = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};

TEST(ConfigRunCapture, FeedsStdinAndCollectsBothStreams) {
  auto run = run_capture({"sh", "-c", "cat; echo oops >&2; exit 3"}, kEnv, "/", "hello\n", 5000);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->out, "hello\n");
  EXPECT_EQ(run->err, "oops\n");
  EXPECT_EQ(run->exit_code, 3);
  EXPECT_EQ(run->signal, 0);
}

TEST(ConfigRunCapture, LargeInputAndOutputDoNotDeadlock) {
  const std::string big(1 << 20, 'x');
  auto run = run_capture({"cat"}, kEnv, "", big, 10000);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->out.size(), big.size());
}

TEST(ConfigRunCapture, ChildThatIgnoresStdinDoesNotKillTheCaller) {
  auto run = run_capture({"true"}, kEnv, "", std::string(1 << 20, 'x'), 5000);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->exit_code, 0);
}

TEST(ConfigRunCapture, ReportsTheKillingSignal) {
  auto run = run_capture({"sh", "-c", "kill -TERM $$"}, kEnv, "", "", 5000);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->signal, SIGTERM);
  EXPECT_EQ(run->exit_code, -1);
}

TEST(ConfigRunCapture, MissingProgramIsEnoent) {
  auto run = run_capture({"drove-no-such-program"}, kEnv, "", "", 5000);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, ENOENT);
}

TEST(ConfigRunCapture, DeadlineKillsTheChild) {
  auto run = run_capture({"sleep", "30"}, kEnv, "", "", 200);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, ETIMEDOUT);
  EXPECT_EQ(run.error().context, "run sleep: no result after 200 ms");
}

}  // namespace
}  // namespace drove::process
