// save / resurrect: the list survives the daemon, without duplicates or revived stopped apps.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace drove::e2e {
namespace {

TEST(SaveResurrect, RestoresRunningAppsOnlyAndNeverDuplicates) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "alive", "-i", "2"}).exit_code, 0);
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "parked"}).exit_code, 0);
  home.wait_online("alive", 2);
  home.wait_online("parked", 1);
  ASSERT_EQ(home.drove({"stop", "parked"}).exit_code, 0);
  auto r = home.drove({"save"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(home.drove({"kill"}).exit_code, 0);

  r = home.drove({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("alive", 2);
  auto parked = home.processes("parked");
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0]["pm2_env"]["status"], "stopped");

  // A second resurrect changes nothing.
  r = home.drove({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(home.processes("alive").size(), 2u);
  EXPECT_EQ(home.processes("parked").size(), 1u);
}

TEST(SaveResurrect, MissingDumpIsOneLineError) {
  DroveHome home;
  auto r = home.drove({"resurrect"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("drove save"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace drove::e2e
