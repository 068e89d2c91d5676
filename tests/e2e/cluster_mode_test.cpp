// Cluster mode end to end: the daemon as Node's cluster primary for unmodified apps, socket
// activation for other languages, the four load-balancing policies, failures under load.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "cli/client.hpp"
#include "harness.hpp"
#include "load.hpp"

namespace drove::e2e {
namespace {

std::map<std::string, long> spread(int port, int connections) {
  std::map<std::string, long> counts;
  for (int i = 0; i < connections; ++i) {
    std::string body;
    const int status = http_request(port, "/", &body);
    ++counts[status == 200 ? body : "failed"];
  }
  return counts;
}

TEST(ClusterMode, SeedAppOnTwoInstancesAnswersFromBothPids) {
  DroveHome home;
  const int port = free_tcp_port();
  // The seed's app.js, unmodified: server.listen(3000) with PORT from the environment.
  auto r = home.drove({"start", fixture("../../examples/cluster-app/app.js"), "-i", "2", "--name", "seed"},
                      {{"PORT", std::to_string(port)}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto pids = home.wait_online("seed", 2);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_EQ(home.processes("seed")[0]["pm2_env"].value("exec_mode", ""), "cluster_mode");
  std::set<std::string> seen;
  ASSERT_TRUE(wait_until([&] {
    const std::string body = http_get(port);
    for (pid_t pid : pids) {
      if (body.find("cluster " + std::to_string(pid)) != std::string::npos) seen.insert(std::to_string(pid));
    }
    return seen.size() == 2;
  })) << "answered by "
      << seen.size() << " pid(s)";
}

TEST(ClusterMode, PythonAppGetsSocketsByActivationAndEachInstanceAnswers) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("apps/activated_server.py"), "-i", "2", "--exec-mode", "cluster", "--port",
                       std::to_string(port), "--name", "py", "--lb", "reuseport"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto pids = home.wait_online("py", 2);
  ASSERT_EQ(pids.size(), 2u);
  std::set<std::string> seen;
  ASSERT_TRUE(wait_until([&] {
    std::string body;
    if (http_request(port, "/", &body) == 200) seen.insert(body);
    return seen.size() == 2;
  })) << "answered by "
      << seen.size() << " instance(s)";
  for (pid_t pid : pids) EXPECT_TRUE(seen.count("pid " + std::to_string(pid) + "\n")) << pid;
}

class Policies : public ::testing::TestWithParam<const char*> {};

TEST_P(Policies, ThousandConnectionsOverFourWorkersSpreadAsDocumented) {
  const std::string policy = GetParam();
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("apps/pid_server.js"), "-i", "4", "--lb", policy, "--name", "lb"},
                      {{"PORT", std::to_string(port)}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(home.wait_online("lb", 4).size(), 4u);
  // Every worker listens before the count starts.
  ASSERT_TRUE(wait_until([&] { return spread(port, 40).size() == 4; }, std::chrono::seconds(15)));
  auto counts = spread(port, 1000);
  EXPECT_EQ(counts.count("failed"), 0u);
  long total = 0, low = 1000, high = 0;
  std::string report;
  for (const auto& [body, n] : counts) {
    total += n;
    low = std::min(low, n);
    high = std::max(high, n);
    report += " " + std::to_string(n);
  }
  std::cout << "[ spread ] " << policy << ":" << report << "\n";
  RecordProperty("spread", report);
  EXPECT_EQ(total, 1000);
  if (policy == "round-robin") {
    EXPECT_EQ(counts.size(), 4u);
    EXPECT_LE(high - low, 1) << report;
  } else if (policy != "shared") {
    // least-connections: sequential connections each find every worker idle; reuseport: the
    // kernel's hash over 4 sockets. Both spread over every worker.
    EXPECT_EQ(counts.size(), 4u) << report;
  }
}

INSTANTIATE_TEST_SUITE_P(ClusterMode, Policies,
                         ::testing::Values("round-robin", "shared", "reuseport", "least-connections"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(ClusterMode, WorkerKilledUnderLoadIsReplacedAndPortNeverRefuses) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(
      home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "api"}, {{"PORT", std::to_string(port)}})
          .exit_code,
      0);
  auto pids = home.wait_online("api", 2);
  ASSERT_EQ(pids.size(), 2u);
  LoadGenerator load(port, 2, false);
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.completed() > 200; }));
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] {
    auto now = home.processes("api");
    return now.size() == 2 && now[0]["pm2_env"]["status"] == "online" && now[0].value("pid", 0) != pids[0] &&
           now[0].value("pid", 0) != 0;
  }));
  const long before = load.completed();
  ASSERT_TRUE(wait_until([&] { return load.completed() > before + 200; }));
  const LoadStats stats = load.stop();
  std::cout << "[ load ] " << stats.summary() << "\n";
  EXPECT_EQ(stats.connect_errors, 0) << stats.summary();
  EXPECT_EQ(stats.non_200, 0) << stats.summary();
  // A request the killed worker had already received dies with it; at most one per thread.
  EXPECT_LE(stats.io_errors, 2) << stats.summary();
}

TEST(ClusterMode, DeleteClosesThePort) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "gone"},
                       {{"PORT", std::to_string(port)}})
                .exit_code,
            0);
  home.wait_online("gone", 2);
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", nullptr) == 200; }));
  ASSERT_EQ(home.drove({"delete", "gone"}).exit_code, 0);
  bool refused = false;
  http_get(port, "/", &refused);
  EXPECT_TRUE(refused);
}

// As under PM2 (one cluster primary for every app): two cluster apps listening on one port
// share its socket, connections go round-robin over the workers of both; deleting one app
// leaves the port to the other; deleting the last closes it.
TEST(ClusterMode, TwoAppsOnOnePortShareItRoundRobin) {
  DroveHome home;
  const int port = free_tcp_port();
  const std::map<std::string, std::string> env = {{"PORT", std::to_string(port)}};
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "one"}, env).exit_code, 0);
  auto r = home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "two"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto one = home.wait_online("one", 2);
  const auto two = home.wait_online("two", 2);
  for (const auto& p : home.processes("two")) EXPECT_EQ(p["pm2_env"].value("status", ""), "online");
  const auto counts = spread(port, 400);
  for (pid_t pid : one)
    EXPECT_EQ(counts.count("pid " + std::to_string(pid) + "\n") ? counts.at("pid " + std::to_string(pid) + "\n") : 0,
              100)
        << pid;
  for (pid_t pid : two)
    EXPECT_EQ(counts.count("pid " + std::to_string(pid) + "\n") ? counts.at("pid " + std::to_string(pid) + "\n") : 0,
              100)
        << pid;

  ASSERT_EQ(home.drove({"delete", "one"}).exit_code, 0);
  const auto after = spread(port, 20);
  EXPECT_EQ(after.count("failed"), 0u) << "the port closed with the first app";
  for (pid_t pid : two) EXPECT_EQ(after.at("pid " + std::to_string(pid) + "\n"), 10) << pid;
  ASSERT_EQ(home.drove({"delete", "two"}).exit_code, 0);
  bool refused = false;
  http_get(port, "/", &refused);
  EXPECT_TRUE(refused);
}

// As PM2: scaling down removes the oldest instances (pm2_parity_test.cpp covers the numbers
// coming back on the next scale up).
TEST(ClusterMode, ScaleUpAndDownRemovesTheOldestAndServesFromEveryInstance) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(
      home.drove({"start", fixture("apps/pid_server.js"), "-i", "2", "--name", "sc"}, {{"PORT", std::to_string(port)}})
          .exit_code,
      0);
  home.wait_online("sc", 2);
  auto r = home.drove({"scale", "sc", "+2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("sc", 4);
  r = home.drove({"scale", "sc", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("sc", 3);
  std::set<int> indexes;
  for (const auto& p : home.processes("sc")) indexes.insert(p["pm2_env"].value("NODE_APP_INSTANCE", -1));
  EXPECT_EQ(indexes, (std::set<int>{1, 2, 3}));
  EXPECT_TRUE(wait_until([&] { return spread(port, 30).size() == 3; }));
}

TEST(Messages, ProcessSendReachesDaemonAndDroveSendReachesApp) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/messenger.js"), "--name", "talk"}).exit_code, 0);
  home.wait_online("talk", 1);
  cli::Client client = cli::Client::connect(HomeLayout{home.path()}, false);
  auto last_message = [&] {
    auto d = client.call("describe", {{"targets", {"talk"}}});
    auto messages = d[0].value("messages", nlohmann::json::array());
    return messages.empty() ? nlohmann::json::object() : messages.back()["data"];
  };
  ASSERT_TRUE(wait_until([&] {
    auto m = last_message();
    return m.is_object() && m.value("hello", 0) == 1;
  })) << last_message();
  auto r = home.drove({"message", "talk", R"({"x":42})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] {
    auto m = last_message();
    return m.is_object() && m.contains("echo");
  })) << last_message();
  const auto echo = last_message()["echo"];
  EXPECT_EQ(echo.value("type", ""), "process:msg");
  EXPECT_EQ(echo["data"].value("x", 0), 42);
  // A non-Node app has no channel: a clear error.
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "py"}).exit_code, 0);
  home.wait_online("py", 1);
  r = home.drove({"message", "py", "hi"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no IPC channel"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace drove::e2e
