// The C++ SDK app (examples/drove_http_app, drove/worker.hpp) under the real daemon in cluster
// mode, in every scheduling policy: through socket activation (LISTEN_FDS, what drove gives a
// non-Node binary today) and through the cluster protocol (what drove gives a Node app; reached
// here through a stand-in interpreter named "node" until AppSpec has an explicit "ipc" flag).
// Apps are started with the daemon's `start` RPC and a full AppSpec: this branch's CLI has no
// cluster flags yet (the lead's main has `--exec-mode`, `--lb` and ecosystem files).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "cli/client.hpp"
#include "config/app_spec.hpp"
#include "sdk_support.hpp"

namespace drove::e2e {
namespace {

struct Case {
  std::string lb;
  bool protocol;  // cluster protocol (channel on fd 3) instead of socket activation
};

class SdkUnderDaemon : public ::testing::TestWithParam<Case> {};

void start_app(const DroveHome& home, const AppSpec& spec) {
  ASSERT_EQ(home.drove({"ls"}).exit_code, 0);  // starts the daemon
  auto client = cli::Client::connect(HomeLayout{home.path()}, false);
  nlohmann::json app = spec;
  client.call("start", {{"apps", nlohmann::json::array({app})}});
}

TEST_P(SdkUnderDaemon, CppAppServesInClusterModeAndStopsGracefully) {
  const Case c = GetParam();
  DroveHome home;
  const int port = free_tcp_port();
  AppSpec spec;
  spec.name = "sdk";
  spec.script = spec.exec_path = example("drove_http_app");
  spec.interpreter = "none";
  spec.ipc = c.protocol;  // the cluster protocol over Node's IPC channel, spoken by the SDK
  spec.cwd = home.scratch();
  spec.instances = 2;
  spec.instances_requested = "2";
  spec.exec_mode = ExecMode::cluster;
  spec.lb = *parse_load_balance(c.lb);
  spec.port = port;
  spec.wait_ready = !c.protocol;  // sd_notify READY=1 from worker::ready()
  start_app(home, spec);
  const auto pids = home.wait_online("sdk", 2);
  ASSERT_EQ(pids.size(), 2u);
  const std::string source = c.protocol ? "(cluster)" : "(activation)";
  std::set<std::string> served_by;
  for (int i = 0; i < 8; ++i) {
    std::string body;
    ASSERT_TRUE(wait_until([&] { return (body = http_get(port)).find("200 OK") != std::string::npos; })) << body;
    ASSERT_NE(body.find(source), std::string::npos) << body;
    const auto at = body.find("hello from ") + 11;
    served_by.insert(body.substr(at, body.find(' ', at) - at));
  }
  for (const auto& pid : served_by) {
    EXPECT_TRUE(std::find(pids.begin(), pids.end(), std::stoi(pid)) != pids.end()) << pid;
  }
  // The daemon accepts and hands connections over in turn: both instances serve.
  if (c.protocol && c.lb == "round-robin") {
    EXPECT_EQ(served_by.size(), 2u);
  }
  // Graceful stop: SIGINT (activation) or the cluster disconnect (protocol); the app logs it.
  auto r = home.drove({"stop", "sdk"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (pid_t pid : pids) EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); })) << pid;
  const auto entries = home.processes("sdk");
  ASSERT_FALSE(entries.empty());
  const std::string out_log = entries[0]["pm2_env"].value("pm_out_log_path", "");
  EXPECT_TRUE(wait_until([&] { return read_file(out_log).find("stopping") != std::string::npos; }))
      << read_file(out_log);
}

INSTANTIATE_TEST_SUITE_P(Policies, SdkUnderDaemon,
                         ::testing::Values(Case{"round-robin", false}, Case{"shared", false}, Case{"reuseport", false},
                                           Case{"least-connections", false}, Case{"round-robin", true},
                                           Case{"shared", true}, Case{"reuseport", true},
                                           Case{"least-connections", true}),
                         [](const auto& param_info) {
                           std::string n =
                               param_info.param.lb + (param_info.param.protocol ? "_protocol" : "_activation");
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

// The same through the CLI: a C++ binary with --ipc gets the channel on fd 3 and
// NODE_UNIQUE_ID, so the daemon's round-robin hand-over reaches it.
TEST(SdkUnderDaemon, IpcFlagMakesACppBinaryAClusterProtocolWorker) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", example("drove_http_app"), "--name", "sdk", "-i", "2", "--exec-mode", "cluster",
                       "--port", std::to_string(port), "--ipc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pids = home.wait_online("sdk", 2);
  ASSERT_EQ(pids.size(), 2u);
  std::set<std::string> served_by;
  ASSERT_TRUE(wait_until([&] {
    const std::string body = http_get(port);
    if (body.find("(cluster)") == std::string::npos) return false;
    const auto at = body.find("hello from ") + 11;
    served_by.insert(body.substr(at, body.find(' ', at) - at));
    return served_by.size() == 2;
  }));
}

}  // namespace
}  // namespace drove::e2e
