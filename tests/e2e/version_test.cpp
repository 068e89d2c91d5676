// `drove --version` names this binary's version and, when a daemon runs, the daemon's (never
// starting one); `drove ping` reports both.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace drove::e2e {
namespace {

TEST(Version, NamesTheRunningDaemonAndNeverStartsOne) {
  DroveHome home;
  auto r = home.drove({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(DROVE_TEST_VERSION) + "\n");
  EXPECT_FALSE(home.daemon_pid()) << "--version started a daemon";

  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);  // starts one
  const auto daemon = home.daemon_pid();
  ASSERT_TRUE(daemon);
  r = home.drove({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(DROVE_TEST_VERSION) + "\ndaemon " + DROVE_TEST_VERSION + " (pid " +
                       std::to_string(*daemon) + ")\n");

  r = home.drove({"ping"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ping = nlohmann::json::parse(r.out);
  EXPECT_EQ(ping.value("version", ""), DROVE_TEST_VERSION);
  EXPECT_EQ(ping.value("cli_version", ""), DROVE_TEST_VERSION);
  EXPECT_EQ(r.err, "");  // no warning: the same version
}

}  // namespace
}  // namespace drove::e2e
