// Bad input: each case is one line on stderr, a non-zero exit, and a daemon that still serves
// the app that was running before.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "harness.hpp"

namespace drove::e2e {
namespace {

struct BadInputCase {
  const char* label;
  std::vector<std::string> args;
  const char* expected_message;  // a fragment of the one-line error
};

int cpu_count() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(home_.drove({"start", fixture("apps/worker.py"), "--name", "bystander"}).exit_code, 0);
    bystander_ = home_.wait_online("bystander", 1).at(0);
    write_file(home_.scratch() + "/plain.txt", "not a program\n");
  }
  void ExpectBystanderUntouched() {
    auto p = home_.processes("bystander");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].value("pid", 0), bystander_);
    EXPECT_EQ(p[0]["pm2_env"]["status"], "online");
  }
  DroveHome home_;
  pid_t bystander_ = 0;
};

TEST_F(BadInput, EachIsOneLineNonZeroAndLeavesDaemonServing) {
  const std::string scratch = home_.scratch();
  const std::vector<BadInputCase> cases = {
      {"missing script", {"start", scratch + "/nope.js"}, "script not found: "},
      {"directory as script", {"start", scratch}, "is a directory"},
      {"non-executable file", {"start", scratch + "/plain.txt"}, "not executable"},
      {"unknown flag", {"start", fixture("apps/worker.py"), "--no-such-flag"}, "--no-such-flag"},
      {"unknown target", {"stop", "no-such-app"}, "'no-such-app' not found"},
      {"instances not a number",
       {"start", fixture("apps/worker.py"), "--name", "x", "-i", "abc"},
       "'instances' must be a number or \"max\", got \"abc\""},
      {"name already taken", {"start", fixture("apps/worker.py"), "--name", "bystander"}, "already exists"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    auto r = home_.drove(c.args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(c.expected_message), std::string::npos) << r.err;
    // Exactly one line.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    ExpectBystanderUntouched();
  }
}

TEST_F(BadInput, HomeThatCannotBeCreatedIsOneLineError) {
  // Root ignores permission bits, so "not writable" is made with a file where a directory
  // must be.
  write_file(home_.scratch() + "/file", "x");
  auto r = run_program({DROVE_BIN, "list"}, {{"DROVE_HOME", home_.scratch() + "/file/home"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("DROVE_HOME"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  ExpectBystanderUntouched();
}

TEST_F(BadInput, InstanceCountsFollowPm2) {
  struct Count {
    const char* flag;
    int expected;
  };
  const int cpus = cpu_count();
  const Count counts[] = {{"0", cpus}, {"max", cpus}, {"-1", std::max(1, cpus - 1)}, {"3", 3}};
  int n = 0;
  for (const auto& c : counts) {
    SCOPED_TRACE(c.flag);
    const std::string name = "count" + std::to_string(n++);
    auto r = home_.drove({"start", fixture("apps/worker.py"), "--name", name, "-i", c.flag});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(home_.wait_online(name, static_cast<size_t>(c.expected)).size(), static_cast<size_t>(c.expected));
  }
  ExpectBystanderUntouched();
}

}  // namespace
}  // namespace drove::e2e
