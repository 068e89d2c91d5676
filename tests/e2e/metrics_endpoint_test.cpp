// The opt-in HTTP endpoint (DROVE_METRICS_ADDR): off by default; when asked, drove-web serves
// /metrics (accepted by promtool), /healthz and /readyz on loopback, comes back when killed,
// ends with the daemon, and refuses a network address unless allowed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "harness.hpp"

namespace drove::e2e {
namespace {

pid_t endpoint_pid(const DroveHome& home) {
  const auto r = home.drove({"ping"});
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
  if (!j.is_object() || !j["metrics_endpoint"].is_object()) return 0;
  return j["metrics_endpoint"].value("pid", 0);
}

std::string promtool_path() {
  for (const std::string& path :
       {std::string("/usr/bin/promtool"),
        std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/drove/tools/usr/bin/promtool"}) {
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

TEST(MetricsEndpoint, ServesMetricsHealthAndReadinessWhenAskedAndOnlyThen) {
  {
    DroveHome plain;  // not asked: no drove-web, nothing listens
    ASSERT_EQ(plain.drove({"ping"}).exit_code, 0);
    EXPECT_EQ(endpoint_pid(plain), 0);
  }
  DroveHome home;
  const int port = free_tcp_port();
  const int app_port = free_tcp_port();
  const auto pids = home.start_web(app_port, {{"DROVE_METRICS_ADDR", "127.0.0.1:" + std::to_string(port)}});
  ASSERT_EQ(pids.size(), 2u);
  ASSERT_TRUE(wait_until([&] { return status_is(http_get(port, "/healthz"), 200); })) << http_get(port, "/healthz");
  EXPECT_EQ(body_of(http_get(port, "/healthz")), "ok\n");
  EXPECT_TRUE(status_is(http_get(port, "/readyz"), 200)) << http_get(port, "/readyz");
  EXPECT_TRUE(status_is(http_get(port, "/nothing"), 404));

  const std::string metrics = http_get(port, "/metrics");
  ASSERT_TRUE(status_is(metrics, 200)) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << metrics;
  for (pid_t pid : pids) EXPECT_NE(metrics.find("pid=\"" + std::to_string(pid) + "\"} 1\n"), std::string::npos);
  const std::string promtool = promtool_path();
  ASSERT_FALSE(promtool.empty()) << "promtool not found: run scripts/setup.sh";
  const auto checked = run_program({promtool, "check", "metrics"}, {}, body_of(metrics));
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;

  // An app that crash-loops until errored: not ready, and the answer says which.
  write_file(home.scratch() + "/crash.sh", "#!/bin/sh\nexit 3\n", true);
  ASSERT_EQ(home.drove({"start", home.scratch() + "/crash.sh", "--name", "crasher", "--max-restarts", "1",
                        "--restart-delay", "0"})
                .exit_code,
            0);
  ASSERT_TRUE(wait_until([&] { return status_is(http_get(port, "/readyz"), 503); })) << http_get(port, "/readyz");
  EXPECT_NE(body_of(http_get(port, "/readyz")).find("crasher (id 2): "), std::string::npos)
      << http_get(port, "/readyz");
  ASSERT_EQ(home.drove({"delete", "crasher"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return status_is(http_get(port, "/readyz"), 200); })) << http_get(port, "/readyz");

  // Killed, it comes back (a new process) and serves again.
  const pid_t web = endpoint_pid(home);
  ASSERT_GT(web, 0);
  ASSERT_EQ(::kill(web, SIGKILL), 0);
  ASSERT_TRUE(wait_until([&] {
    const pid_t now = endpoint_pid(home);
    return now != 0 && now != web && status_is(http_get(port, "/healthz"), 200);
  }));
  // It ends with the daemon (and its listening socket with it: the port is free again, though
  // another test may take it at once, so the test checks the process).
  const pid_t second = endpoint_pid(home);
  ASSERT_EQ(home.drove({"kill"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !pid_alive(second); }));
}

TEST(MetricsEndpoint, ANetworkAddressIsRefusedUnlessAllowed) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(home.drove({"ping"}, {{"DROVE_METRICS_ADDR", "0.0.0.0:" + std::to_string(port)}}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] {
    return read_file(home.path() + "/drove.log").find("is not a loopback address") != std::string::npos;
  })) << read_file(home.path() + "/drove.log");
  EXPECT_TRUE(wait_until([&] { return endpoint_pid(home) == 0; }));
  EXPECT_NE(read_file(home.path() + "/drove.log").find("not restarting it"), std::string::npos);
}

}  // namespace
}  // namespace drove::e2e
