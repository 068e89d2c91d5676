// Autoscaling end to end: a CPU-bound Node cluster app between 1 and 4 instances under a load
// step grows, then shrinks back while requests keep coming, and no request fails; a manual
// scale pins the count until `scale <app> auto`. Latency figures are bench/'s (scenario
// autoscale), not asserted here.
#include <gtest/gtest.h>

#include <iostream>

#include "harness.hpp"
#include "load.hpp"

namespace drove::e2e {
namespace {

int instances_of(const DroveHome& home, const std::string& name) {
  return static_cast<int>(home.processes(name).size());
}

std::string describe(const DroveHome& home, const std::string& name) { return home.drove({"describe", name}).out; }

TEST(AutoscaleUnderLoad, CpuBoundNodeAppGrowsUnderALoadStepAndShrinksBackWithoutAFailedRequest) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("apps/cpu_server.js"), "--name", "auto", "--min-instances", "1",
                       "--max-instances", "4", "--scale-up-cooldown", "1s", "--scale-down-delay", "3s"},
                      {{"PORT", std::to_string(port)}, {"WORK_MS", "20"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("auto", 1);
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", nullptr) == 200; }));
  EXPECT_NE(describe(home, "auto").find("1..4 instances on cpu, target 70 per instance"), std::string::npos);

  // A trickle of cheap requests for the whole run (it must never fail, above all while
  // instances leave), and a step of CPU-bound load.
  LoadGenerator trickle(port, 1, false, "/");
  LoadGenerator step(port, 4, false, "/work");
  trickle.start();
  step.start();
  ASSERT_TRUE(wait_until([&] { return instances_of(home, "auto") >= 2; }, std::chrono::seconds(60)))
      << describe(home, "auto");
  home.wait_online("auto", static_cast<size_t>(instances_of(home, "auto")), std::chrono::seconds(30));
  const long before = step.completed();
  ASSERT_TRUE(wait_until([&] { return step.completed() > before + 50; }, std::chrono::seconds(30)));
  const int peak = instances_of(home, "auto");
  EXPECT_LE(peak, 4);
  const std::string grown = describe(home, "auto");
  EXPECT_NE(grown.find("autoscale last"), std::string::npos) << grown;
  const LoadStats heavy = step.stop();

  // The step is over: back to min_instances, one instance per scale-down delay, while the
  // trickle goes on.
  ASSERT_TRUE(wait_until([&] { return instances_of(home, "auto") == 1; }, std::chrono::seconds(90)))
      << describe(home, "auto");
  const long after = trickle.completed();
  ASSERT_TRUE(wait_until([&] { return trickle.completed() > after + 20; }));
  const LoadStats light = trickle.stop();
  std::cout << "[ autoscale ] peak " << peak << " instances; step: " << heavy.summary()
            << "; trickle: " << light.summary() << "\n";
  EXPECT_GT(heavy.ok, 0);
  EXPECT_EQ(heavy.failed(), 0) << heavy.summary();
  EXPECT_GT(light.ok, 0);
  EXPECT_EQ(light.failed(), 0) << light.summary();
  const std::string shrunk = describe(home, "auto");
  EXPECT_NE(shrunk.find("down 2 -> 1, "), std::string::npos) << shrunk;
}

// Any language: a socket-activated Python server that serves one connection at a time, scaled
// on the connections waiting in its listening socket's accept queue (the daemon holds it).
TEST(AutoscaleUnderLoad, SocketActivatedPythonAppScalesOnWaitingConnections) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("apps/sequential_server.py"), "--name", "seq", "--exec-mode", "cluster",
                       "--port", std::to_string(port), "--max-instances", "4", "--scale-metric", "pending",
                       "--scale-target", "2", "--scale-up-cooldown", "1s", "--scale-down-delay", "3s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("seq", 1);
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", nullptr) == 200; }));
  LoadGenerator trickle(port, 1, false, "/");
  LoadGenerator burst(port, 8, false, "/");
  trickle.start();
  burst.start();
  ASSERT_TRUE(wait_until([&] { return instances_of(home, "seq") >= 3; }, std::chrono::seconds(60)))
      << describe(home, "seq");
  const std::string grown = describe(home, "seq");
  EXPECT_NE(grown.find("waiting for"), std::string::npos) << grown;
  const LoadStats heavy = burst.stop();
  ASSERT_TRUE(wait_until([&] { return instances_of(home, "seq") == 1; }, std::chrono::seconds(90)))
      << describe(home, "seq");
  const long after = trickle.completed();
  ASSERT_TRUE(wait_until([&] { return trickle.completed() > after + 5; }));
  const LoadStats light = trickle.stop();
  std::cout << "[ autoscale pending ] burst: " << heavy.summary() << "; trickle: " << light.summary() << "\n";
  EXPECT_GT(heavy.ok, 0);
  EXPECT_EQ(heavy.failed(), 0) << heavy.summary();
  EXPECT_EQ(light.failed(), 0) << light.summary();
}

TEST(Autoscale, AManualScalePinsTheCountUntilAutoResumesIt) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove(
      {"start", fixture("apps/cpu_server.js"), "--name", "pinned", "--max-instances", "3", "--scale-down-delay", "1s"},
      {{"PORT", std::to_string(port)}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("pinned", 1);
  r = home.drove({"scale", "pinned", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("pinned", 3);
  EXPECT_NE(describe(home, "pinned").find("PAUSED by `drove scale`: `drove scale pinned auto` resumes"),
            std::string::npos);
  // Idle, 3 instances, a 1 s scale-down delay: unpinned it would shrink within seconds. The
  // bounded wait is the proof that it does not.
  EXPECT_FALSE(wait_until([&] { return instances_of(home, "pinned") < 3; }, std::chrono::seconds(4)));
  // A manual count outside min..max is allowed while pinned.
  r = home.drove({"scale", "pinned", "auto"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return instances_of(home, "pinned") == 1; }, std::chrono::seconds(30)))
      << describe(home, "pinned");
  EXPECT_EQ(describe(home, "pinned").find("PAUSED"), std::string::npos);
  // `scale auto` of an app that is not autoscaled says so.
  ASSERT_EQ(home.drove({"start", fixture("apps/cpu_server.js"), "--name", "plain"}, {{"PORT", "0"}}).exit_code, 0);
  r = home.drove({"scale", "plain", "auto"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("app 'plain' is not autoscaled"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace drove::e2e
