// Fork mode end to end: real apps under the real daemon.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "harness.hpp"

namespace drove::e2e {
namespace {

TEST(ForkMode, NodeAndPythonAppsComeOnlineWithRealPids) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("../../examples/cluster-app/app.js"), "--name", "web"},
                      {{"PORT", std::to_string(port)}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = home.drove({"start", fixture("apps/worker.py"), "--name", "jobs", "-i", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  auto web = home.wait_online("web", 1);
  auto jobs = home.wait_online("jobs", 2);
  ASSERT_EQ(web.size(), 1u);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_TRUE(pid_alive(web[0]));
  EXPECT_NE(jobs[0], jobs[1]);
  // The node app really serves, from the pid drove reports.
  std::string body;
  ASSERT_TRUE(wait_until([&] { return (body = http_get(port)).find("200 OK") != std::string::npos; }));
  EXPECT_NE(body.find(std::to_string(web[0])), std::string::npos) << body;
  // Python instances see their index, as PM2 sets it.
  auto entries = home.processes("jobs");
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_TRUE(wait_until([&] {
    return read_file(entries[1]["pm2_env"].value("pm_out_log_path", "")).find("instance 1") != std::string::npos;
  }));
  EXPECT_EQ(entries[0]["pm2_env"].value("exec_mode", ""), "fork_mode");
}

TEST(ForkMode, SigkilledAppComesBackWithNewPidAndCountedRestart) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "w"}).exit_code, 0);
  const pid_t first = home.wait_online("w", 1).at(0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  pid_t second = 0;
  ASSERT_TRUE(wait_until([&] {
    auto p = home.processes("w");
    if (p.size() != 1 || p[0]["pm2_env"]["status"] != "online") return false;
    second = p[0].value("pid", 0);
    return second != 0 && second != first && p[0]["pm2_env"].value("restart_time", 0) == 1;
  }));
  EXPECT_TRUE(pid_alive(second));
}

TEST(ForkMode, CrashLoopEndsErroredWithPolicyDelays) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  auto r = home.drove({"start", fixture("apps/crash.sh"), "--name", "loop", "--max-restarts", "4",
                       "--exp-backoff-restart-delay", "100"},
                      {{"MARKER", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] {
    auto p = home.processes("loop");
    return p.size() == 1 && p[0]["pm2_env"]["status"] == "errored";
  }));
  auto p = home.processes("loop").at(0);
  EXPECT_EQ(p["pm2_env"].value("restart_time", -1), 3);
  // Four runs, separated by the back-off delays 100, 150, 225 ms (at least).
  std::vector<long long> starts;
  std::istringstream lines(read_file(marker));
  for (long long t; lines >> t;) starts.push_back(t);
  ASSERT_EQ(starts.size(), 4u);
  const long long expected[] = {100, 150, 225};
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 1], expected[i - 1]) << "gap " << i;
  // Errored apps stay down.
  EXPECT_EQ(p.value("pid", -1), 0);
}

TEST(ForkMode, StopKillsTreeThatIgnoresSigintAfterKillTimeout) {
  DroveHome home;
  const std::string child_pid_file = home.scratch() + "/child.pid";
  auto r = home.drove({"start", fixture("apps/ignore_sigint.sh"), "--name", "stubborn", "--kill-timeout", "300"},
                      {{"CHILD_PID_FILE", child_pid_file}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t main_pid = home.wait_online("stubborn", 1).at(0);
  ASSERT_TRUE(wait_until([&] { return !read_file(child_pid_file).empty(); }));
  const pid_t child = std::atoi(read_file(child_pid_file).c_str());
  ASSERT_TRUE(pid_alive(child));

  const auto began = std::chrono::steady_clock::now();
  r = home.drove({"stop", "stubborn"});
  const auto took = std::chrono::steady_clock::now() - began;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // `stop` returned only once the whole tree was gone, and only after the kill timeout.
  EXPECT_FALSE(pid_alive(main_pid));
  EXPECT_FALSE(pid_alive(child));
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), 300);
  auto p = home.processes("stubborn").at(0);
  EXPECT_EQ(p["pm2_env"]["status"], "stopped");
}

TEST(ForkMode, TwoConcurrentFirstCommandsStartExactlyOneDaemon) {
  DroveHome home;
  RunResult a, b;
  std::thread ta([&] { a = home.drove({"ping"}); });
  std::thread tb([&] { b = home.drove({"ping"}); });
  ta.join();
  tb.join();
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto pa = nlohmann::json::parse(a.out).value("pid", 0);
  const auto pb = nlohmann::json::parse(b.out).value("pid", 0);
  EXPECT_EQ(pa, pb);
  EXPECT_EQ(home.daemon_pid().value_or(0), pa);
}

TEST(ForkMode, AppSeesPm2Environment) {
  DroveHome home;
  const std::string env_out = home.scratch() + "/env.json";
  auto r = home.drove({"start", fixture("apps/env_dump.js"), "--name", "envy", "--namespace", "team"},
                      {{"ENV_OUT", env_out}, {"MY_SETTING", "kept"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return !read_file(env_out).empty(); }));
  auto env = nlohmann::json::parse(read_file(env_out));
  EXPECT_EQ(env.value("NODE_APP_INSTANCE", ""), "0");
  EXPECT_EQ(env.value("pm_id", ""), "0");
  EXPECT_EQ(env.value("name", ""), "envy");
  EXPECT_EQ(env.value("namespace", ""), "team");
  EXPECT_EQ(env.value("exec_mode", ""), "fork_mode");
  EXPECT_EQ(env.value("MY_SETTING", ""), "kept");
  EXPECT_NE(env.value("pm_out_log_path", ""), "");
  EXPECT_FALSE(env.contains("NODE_UNIQUE_ID"));
}

TEST(ForkMode, DeleteForgetsTheApp) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "gone"}).exit_code, 0);
  const pid_t pid = home.wait_online("gone", 1).at(0);
  ASSERT_EQ(home.drove({"delete", "gone"}).exit_code, 0);
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_TRUE(home.processes("gone").empty());
}

}  // namespace
}  // namespace drove::e2e

namespace drove::e2e {
namespace {

TEST(Daemon, SigtermStopsEveryAppGracefullyAndExitsZero) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "a", "-i", "2"}).exit_code, 0);
  auto pids = home.wait_online("a", 2);
  const pid_t daemon = home.daemon_pid().value_or(0);
  ASSERT_GT(daemon, 0);
  ASSERT_EQ(::kill(daemon, SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return !pid_alive(daemon); }));
  for (pid_t pid : pids) EXPECT_FALSE(pid_alive(pid));
  const std::string log = read_file(home.path() + "/drove.log");
  EXPECT_NE(log.find("SIGTERM received: stopping every app"), std::string::npos) << log;
  EXPECT_NE(log.find("drove daemon exits"), std::string::npos) << log;
  // The next command starts a fresh daemon.
  EXPECT_EQ(home.drove({"ping"}).exit_code, 0);
}

TEST(Daemon, ControlSocketIsOwnerOnly) {
  DroveHome home;
  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);
  struct stat home_stat {
  }, sock_stat{};
  ASSERT_EQ(::stat(home.path().c_str(), &home_stat), 0);
  ASSERT_EQ(::stat((home.path() + "/drove.sock").c_str(), &sock_stat), 0);
  EXPECT_EQ(home_stat.st_mode & 0777, 0700u);
  EXPECT_EQ(sock_stat.st_mode & 0077, 0u);
}

}  // namespace
}  // namespace drove::e2e

namespace drove::e2e {
namespace {

TEST(ForkMode, UidDropsPrivilegesWhenDaemonIsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  DroveHome home;
  // A program 'nobody' can run without touching the test's (0700) files.
  auto r = home.drove({"start", "/bin/sleep", "--name", "nobody", "--uid", "nobody", "--cwd", "/", "--", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid = home.wait_online("nobody", 1).at(0);
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pid)).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(home.processes("nobody").at(0)["pm2_env"].value("restart_time", -1), 0);
  r = home.drove({"start", "/bin/sleep", "--name", "ghost", "--uid", "no-such-user-xyz", "--", "1000"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown user 'no-such-user-xyz'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace drove::e2e
