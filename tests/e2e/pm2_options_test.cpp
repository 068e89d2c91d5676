// The options that used to be accepted and do nothing (issue #14): max_memory_restart,
// cron_restart, watch / ignore_watch / watch_delay, and the PM2-only flags that are accepted
// with a warning. Real apps under the real daemon; every wait has a deadline.
#include <gtest/gtest.h>

#include <filesystem>

#include "harness.hpp"

namespace drove::e2e {
namespace {

using namespace std::chrono_literals;

int restart_time(const DroveHome& home, const std::string& name) {
  auto p = home.processes(name);
  return p.empty() ? -1 : p[0]["pm2_env"].value("restart_time", -1);
}

pid_t current_pid(const DroveHome& home, const std::string& name) {
  auto p = home.processes(name);
  return p.empty() ? 0 : p[0].value("pid", 0);
}

// A Node app that counts its starts in a file, so a test sees restarts from the outside too.
std::string counting_app(const DroveHome& home, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string script = dir + "/app.js";
  write_file(script,
             "require('fs').appendFileSync(process.env.STARTS, process.pid + '\\n');\n"
             "setInterval(() => {}, 1000);\n");
  (void)home;
  return script;
}

TEST(Pm2Options, MaxMemoryRestartRestartsAGrowingApp) {
  DroveHome home;
  const std::string script = home.scratch() + "/grow.js";
  // 8 MB of touched memory every 100 ms: past 50 MB within a second or so.
  write_file(script,
             "const keep = [];\n"
             "setInterval(() => { keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); }, 100);\n");
  auto r = home.drove({"start", script, "--name", "grow", "--max-memory-restart", "50M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("grow", 1);
  const pid_t first = current_pid(home, "grow");
  ASSERT_TRUE(wait_until([&] { return restart_time(home, "grow") >= 1; }, 20s))
      << read_file(home.path() + "/drove.log");
  EXPECT_NE(current_pid(home, "grow"), first);
  // The reason is said: in the daemon's log and in describe.
  const std::string log = read_file(home.path() + "/drove.log");
  EXPECT_NE(log.find("max_memory_restart: memory"), std::string::npos) << log;
  auto d = home.drove({"describe", "grow"});
  EXPECT_NE(d.out.find("last restart"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("max_memory_restart: memory"), std::string::npos) << d.out;
}

TEST(Pm2Options, MaxMemoryRestartLeavesAnAppUnderTheLimitAlone) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  auto r = home.drove(
      {"start", counting_app(home, home.scratch() + "/small"), "--name", "small", "--max-memory-restart", "500M"},
      {{"STARTS", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("small", 1);
  // Several memory checks (1 s apart) pass without a restart.
  EXPECT_FALSE(wait_until([&] { return restart_time(home, "small") != 0; }, 3s));
}

TEST(Pm2Options, CronRestartWithSecondsFieldRestartsRepeatedly) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  auto r = home.drove(
      {"start", counting_app(home, home.scratch() + "/cron"), "--name", "tick", "--cron-restart", "*/2 * * * * *"},
      {{"STARTS", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("tick", 1);
  ASSERT_TRUE(wait_until([&] { return restart_time(home, "tick") >= 2; }, 10s))
      << read_file(home.path() + "/drove.log");
  const std::string log = read_file(home.path() + "/drove.log");
  EXPECT_NE(log.find("cron_restart '*/2 * * * * *'"), std::string::npos) << log;
}

TEST(Pm2Options, CronRestartLeavesAStoppedAppStopped) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  ASSERT_EQ(home.drove({"start", counting_app(home, home.scratch() + "/cron"), "--name", "tick", "-c", "* * * * * *"},
                       {{"STARTS", marker}})
                .exit_code,
            0);
  home.wait_online("tick", 1);
  ASSERT_EQ(home.drove({"stop", "tick"}).exit_code, 0);
  EXPECT_FALSE(wait_until(
      [&] {
        auto p = home.processes("tick");
        return p.empty() || p[0]["pm2_env"]["status"] != "stopped";
      },
      2500ms));
}

TEST(Pm2Options, WatchRestartsOnChangeButNotUnderIgnoredDirectory) {
  DroveHome home;
  const std::string dir = home.scratch() + "/watched";
  const std::string marker = home.scratch() + "/starts";
  const std::string script = counting_app(home, dir);
  std::filesystem::create_directories(dir + "/logs");
  auto r = home.drove(
      {"start", script, "--name", "w", "--cwd", dir, "--watch", "--ignore-watch", "logs", "--watch-delay", "100"},
      {{"STARTS", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("w", 1);
  // A file under the ignored directory changes nothing.
  write_file(dir + "/logs/out.log", "noise\n");
  EXPECT_FALSE(wait_until([&] { return restart_time(home, "w") != 0; }, 1500ms));
  // A change in a subdirectory created after the start restarts it.
  std::filesystem::create_directories(dir + "/lib/deep");
  write_file(dir + "/lib/deep/util.js", "module.exports = 1;\n");
  ASSERT_TRUE(wait_until([&] { return restart_time(home, "w") >= 1; }, 10s)) << read_file(home.path() + "/drove.log");
  home.wait_online("w", 1);
  // Touching the script itself restarts it again.
  const int before = restart_time(home, "w");
  write_file(script, read_file(script) + "// edited\n");
  ASSERT_TRUE(wait_until([&] { return restart_time(home, "w") > before; }, 10s));
}

TEST(Pm2Options, WatchIgnoresNodeModulesAndDotfilesByDefault) {
  DroveHome home;
  const std::string dir = home.scratch() + "/defaults";
  const std::string marker = home.scratch() + "/starts";
  const std::string script = counting_app(home, dir);
  std::filesystem::create_directories(dir + "/node_modules/pkg");
  ASSERT_EQ(home.drove({"start", script, "--name", "d", "--cwd", dir, "--watch"}, {{"STARTS", marker}}).exit_code, 0);
  home.wait_online("d", 1);
  write_file(dir + "/node_modules/pkg/index.js", "1\n");
  write_file(dir + "/.env", "A=1\n");
  EXPECT_FALSE(wait_until([&] { return restart_time(home, "d") != 0; }, 1500ms));
  write_file(dir + "/config.json", "{}\n");
  EXPECT_TRUE(wait_until([&] { return restart_time(home, "d") >= 1; }, 10s));
}

TEST(Pm2Options, StopTurnsWatchingOffAndRestartWatchTogglesItBack) {
  DroveHome home;
  const std::string dir = home.scratch() + "/toggle";
  const std::string marker = home.scratch() + "/starts";
  const std::string script = counting_app(home, dir);
  ASSERT_EQ(home.drove({"start", script, "--name", "t", "--cwd", dir, "--watch"}, {{"STARTS", marker}}).exit_code, 0);
  home.wait_online("t", 1);
  ASSERT_EQ(home.drove({"stop", "t"}).exit_code, 0);
  // `start` of the stopped app keeps watching off, as PM2.
  ASSERT_EQ(home.drove({"start", "t"}).exit_code, 0);
  home.wait_online("t", 1);
  const int after_start = restart_time(home, "t");  // `start` of a stopped app may count one
  write_file(dir + "/a.js", "1\n");
  EXPECT_FALSE(wait_until([&] { return restart_time(home, "t") != after_start; }, 1500ms));
  // `restart --watch` turns it on again (and restarts once, itself).
  ASSERT_EQ(home.drove({"restart", "t", "--watch"}).exit_code, 0);
  home.wait_online("t", 1);
  const int after_restart = restart_time(home, "t");
  write_file(dir + "/b.js", "1\n");
  EXPECT_TRUE(wait_until([&] { return restart_time(home, "t") > after_restart; }, 10s));
}

TEST(Pm2Options, WatchReloadsClusterAppsInsteadOfRestarting) {
  DroveHome home;
  const int port = free_tcp_port();
  const std::string dir = home.scratch() + "/cluster";
  std::filesystem::create_directories(dir);
  const std::string script = dir + "/server.js";
  write_file(script, "require('http').createServer((q, s) => s.end('pid ' + process.pid)).listen(process.env.PORT);\n");
  ASSERT_EQ(home.drove({"start", script, "--name", "cw", "-i", "2", "--cwd", dir, "--watch"},
                       {{"PORT", std::to_string(port)}})
                .exit_code,
            0);
  home.wait_online("cw", 2);
  write_file(dir + "/changed.txt", "x\n");
  ASSERT_TRUE(wait_until(
      [&] {
        auto p = home.processes("cw");
        return p.size() == 2 && p[0]["pm2_env"].value("restart_time", 0) >= 1 &&
               p[1]["pm2_env"].value("restart_time", 0) >= 1;
      },
      20s))
      << read_file(home.path() + "/drove.log");
  // It went through the rolling reload, not a stop-everything restart.
  const std::string log = read_file(home.path() + "/drove.log");
  EXPECT_EQ(log.find("reload failed"), std::string::npos) << log;
  EXPECT_NE(http_get(port).find("200 OK"), std::string::npos);
}

TEST(Pm2Options, Pm2OnlyFlagsAreAcceptedWithOneWarningEach) {
  DroveHome home;
  auto r = home.drove({"start", fixture("apps/worker.py"), "--name", "pm2only", "--no-vizion", "--no-automation",
                       "--no-pmx", "--source-map-support", "--disable-source-map-support"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* key : {"vizion", "automation", "pmx", "source_map_support", "disable_source_map_support"}) {
    const std::string said = std::string("option '") + key + "' has no effect in drove";
    const auto first = r.err.find(said);
    EXPECT_NE(first, std::string::npos) << key << ": " << r.err;
    EXPECT_EQ(r.err.find(said, first + 1), std::string::npos) << key << " warned twice: " << r.err;
  }
  home.wait_online("pm2only", 1);
}

TEST(Pm2Options, DeploySectionIsAcceptedWithAWarning) {
  DroveHome home;
  const std::string file = home.scratch() + "/ecosystem.config.json";
  write_file(file, R"({"apps": [{"name": "dep", "script": ")" + fixture("apps/worker.py") +
                       R"("}], "deploy": {"production": {"user": "node", "host": "example.com"}}})");
  auto r = home.drove({"start", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("'deploy'"), std::string::npos) << r.err;
  home.wait_online("dep", 1);
}

}  // namespace
}  // namespace drove::e2e
