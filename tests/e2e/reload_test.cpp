// Zero-downtime reload under real load, and the ways a reload must fail safely.
#include <gtest/gtest.h>

#include <future>
#include <iostream>
#include <set>

#include "cli/client.hpp"
#include "harness.hpp"
#include "load.hpp"

namespace drove::e2e {
namespace {

std::set<pid_t> pids_of(const DroveHome& home, const std::string& name) {
  std::set<pid_t> pids;
  for (const auto& p : home.processes(name)) pids.insert(p.value("pid", 0));
  return pids;
}

// Runs 5 back-to-back reloads while `load` runs; every reload must succeed.
void reload_five_times_under_load(const DroveHome& home, const std::string& name, LoadGenerator& load) {
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.completed() > 100; }));
  for (int i = 0; i < 5; ++i) {
    const auto before = pids_of(home, name);
    auto r = home.drove({"reload", name});
    ASSERT_EQ(r.exit_code, 0) << "reload " << i << ": " << r.err;
    const auto after = pids_of(home, name);
    for (pid_t pid : after) EXPECT_EQ(before.count(pid), 0u) << "reload " << i << " kept pid " << pid;
  }
  const long done = load.completed();
  ASSERT_TRUE(wait_until([&] { return load.completed() > done + 100; }));
}

class ReloadUnderLoad : public ::testing::TestWithParam<bool> {};

TEST_P(ReloadUnderLoad, NodeClusterAppLosesNoRequest) {
  const bool keep_alive = GetParam();
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(
      home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "api"}, {{"PORT", std::to_string(port)}})
          .exit_code,
      0);
  home.wait_online("api", 2);
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", nullptr) == 200; }));
  LoadGenerator load(port, 2, keep_alive);
  reload_five_times_under_load(home, "api", load);
  const LoadStats stats = load.stop();
  std::cout << "[ reload node " << (keep_alive ? "keep-alive" : "close") << " ] " << stats.summary() << "\n";
  EXPECT_GT(stats.ok, 0);
  EXPECT_EQ(stats.failed(), 0) << stats.summary();
}

TEST_P(ReloadUnderLoad, SocketActivatedPythonAppLosesNoRequest) {
  const bool keep_alive = GetParam();
  DroveHome home;
  const int port = free_tcp_port();
  // What is checked is that no request is lost, not how fast Python starts: on a saturated host
  // a replacement took over the 3 s default to say READY=1, and the reload was (rightly) aborted.
  auto r = home.drove({"start", fixture("apps/activated_server.py"), "-i", "2", "--exec-mode", "cluster", "--port",
                       std::to_string(port), "--name", "py", "--wait-ready", "--listen-timeout", "15000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("py", 2);
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", nullptr) == 200; }));
  LoadGenerator load(port, 2, keep_alive);
  reload_five_times_under_load(home, "py", load);
  const LoadStats stats = load.stop();
  std::cout << "[ reload python " << (keep_alive ? "keep-alive" : "close") << " ] " << stats.summary() << "\n";
  EXPECT_GT(stats.ok, 0);
  EXPECT_EQ(stats.failed(), 0) << stats.summary();
}

INSTANTIATE_TEST_SUITE_P(Reload, ReloadUnderLoad, ::testing::Values(false, true), [](const auto& param_info) {
  return param_info.param ? "keep_alive" : "new_connection_per_request";
});

TEST(Reload, RequestInFlightCompletes) {
  DroveHome home;
  const int port = free_tcp_port();
  // The request outlives the default kill_timeout (1600 ms): give the app time to finish.
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "slow", "--kill-timeout", "10000"},
                       {{"PORT", std::to_string(port)}, {"SLOW_MS", "2000"}})
                .exit_code,
            0);
  home.wait_online("slow", 2);
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", nullptr) == 200; }));
  auto slow = std::async(std::launch::async, [port] {
    std::string body;
    const int status = http_request(port, "/slow", &body, 20000);
    return std::make_pair(status, body);
  });
  ASSERT_TRUE(wait_until([&] {
    for (const auto& p : home.processes("slow")) {
      if (read_file(p["pm2_env"].value("pm_out_log_path", "")).find("slow request started") != std::string::npos)
        return true;
    }
    return false;
  }));
  auto r = home.drove({"reload", "slow"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto [status, body] = slow.get();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.rfind("pid ", 0), 0u) << body;
}

TEST(Reload, ReplacementCrashingAtBootAbortsAndOldPidsServe) {
  DroveHome home;
  const int port = free_tcp_port();
  const std::string marker = home.scratch() + "/crash";
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "api"},
                       {{"PORT", std::to_string(port)}, {"CRASH_IF", marker}})
                .exit_code,
            0);
  home.wait_online("api", 2);
  const auto before = pids_of(home, "api");
  write_file(marker, "1");
  auto r = home.drove({"reload", "api"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("aborted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("before it was ready"), std::string::npos) << r.err;
  EXPECT_EQ(pids_of(home, "api"), before);
  std::set<std::string> bodies;
  for (int i = 0; i < 20; ++i) {
    std::string body;
    ASSERT_EQ(http_request(port, "/", &body), 200);
    bodies.insert(body);
  }
  for (pid_t pid : before) EXPECT_TRUE(bodies.count("pid " + std::to_string(pid) + "\n")) << pid;
}

TEST(Reload, ReplacementNeverReadyAbortsAfterListenTimeout) {
  DroveHome home;
  const int port = free_tcp_port();
  const std::string marker = home.scratch() + "/silent";
  auto r = home.drove(
      {"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "api", "--wait-ready", "--listen-timeout", "800"},
      {{"PORT", std::to_string(port)}, {"NO_READY_IF", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = pids_of(home, "api");
  ASSERT_EQ(before.size(), 2u);
  write_file(marker, "1");
  r = home.drove({"reload", "api"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("listen_timeout"), std::string::npos) << r.err;
  EXPECT_EQ(pids_of(home, "api"), before);
  EXPECT_EQ(http_request(port, "/", nullptr), 200);
}

TEST(Reload, SecondReloadOfSameAppIsRefusedWhileOneRuns) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "api", "--wait-ready"},
                       {{"PORT", std::to_string(port)}, {"READY_DELAY_MS", "1500"}})
                .exit_code,
            0);
  cli::Client events = cli::Client::connect(HomeLayout{home.path()}, false);
  events.call("subscribe", {{"events", true}});
  auto first = std::async(std::launch::async, [&] { return home.drove({"reload", "api"}); });
  // Wait until the first reload has started a replacement.
  while (auto e = events.next_message()) {
    if (e->value("event", "") == "spawn" && e->value("incoming", false)) break;
  }
  auto second = home.drove({"reload", "api"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("already running"), std::string::npos) << second.err;
  EXPECT_EQ(first.get().exit_code, 0);
}

// A stop that comes while a replacement is starting ends the reload: it used to wait forever
// for that replacement, and every later reload of the app was refused as "already running".
TEST(Reload, StoppingTheAppMidReloadEndsTheReloadAndTheNextReloadRuns) {
  DroveHome home;
  const int port = free_tcp_port();
  const std::string marker = home.scratch() + "/silent";
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "api", "--wait-ready",
                        "--listen-timeout", "600000"},
                       {{"PORT", std::to_string(port)}, {"NO_READY_IF", marker}})
                .exit_code,
            0);
  write_file(marker, "1");  // replacements never say ready
  cli::Client events = cli::Client::connect(HomeLayout{home.path()}, false);
  events.call("subscribe", {{"events", true}});
  auto reload = std::async(std::launch::async, [&] { return home.drove({"reload", "api"}); });
  while (auto e = events.next_message()) {
    if (e->value("event", "") == "spawn" && e->value("incoming", false)) break;
  }
  auto stop = home.drove({"stop", "api"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  // Bounded far below listen_timeout (10 minutes): the reload ends because its slots stopped.
  ASSERT_EQ(reload.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const auto ended = reload.get();
  EXPECT_EQ(ended.exit_code, 0) << ended.err;
  for (const auto& p : home.processes("api")) EXPECT_EQ(p["pm2_env"].value("status", ""), "stopped");

  ::unlink(marker.c_str());
  ASSERT_EQ(home.drove({"restart", "api"}).exit_code, 0);
  const auto before = pids_of(home, "api");
  auto again = home.drove({"reload", "api"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  for (pid_t pid : pids_of(home, "api")) EXPECT_EQ(before.count(pid), 0u) << pid;
}

TEST(Reload, ForkModeAppIsRestartedWithANotice) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "w"}).exit_code, 0);
  const pid_t before = home.wait_online("w", 1).at(0);
  auto r = home.drove({"reload", "w"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("restarted instead of reloaded"), std::string::npos) << r.out;
  const pid_t after = home.wait_online("w", 1).at(0);
  EXPECT_NE(before, after);
}

TEST(WaitReady, StartReturnsOnceReadyOrFailsAfterListenTimeout) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("apps/pid_server.js"), "--name", "ready", "--wait-ready"},
                      {{"PORT", std::to_string(port)}, {"READY_DELAY_MS", "300"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(home.processes("ready").at(0)["pm2_env"]["status"], "online");
  const std::string marker = home.scratch() + "/silent";
  write_file(marker, "1");
  r = home.drove({"start", fixture("apps/pid_server.js"), "--name", "mute", "--wait-ready", "--listen-timeout", "500"},
                 {{"PORT", std::to_string(free_tcp_port())}, {"NO_READY_IF", marker}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not ready within listen_timeout (500 ms)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace drove::e2e
