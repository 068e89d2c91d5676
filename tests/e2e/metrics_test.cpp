// `drove metrics`: Prometheus's own checker accepts it (promtool check metrics, Debian package
// prometheus), every instance of `jlist` is there with its pid, and the round-robin listener's
// accepted connections count.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli/client.hpp"
#include "harness.hpp"

namespace drove::e2e {
namespace {

// promtool on PATH, or where scripts/setup.sh unpacks Debian's prometheus package (installing
// it would start a Prometheus server on the machine).
std::string find_promtool() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    std::string path = std::string(dir) + "/promtool";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string base = cache != nullptr ? cache : home != nullptr ? std::string(home) + "/.cache" : "";
  const std::string path = base + "/drove/tools/usr/bin/promtool";
  return !base.empty() && ::access(path.c_str(), X_OK) == 0 ? path : "";
}

TEST(Metrics, PromtoolAcceptsThemAndTheyNameEveryInstance) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "--name", "web \"quoted\"", "-i", "2"},
                       {{"PORT", std::to_string(port)}})
                .exit_code,
            0);
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "worker"}).exit_code, 0);
  ASSERT_EQ(home.drove({"start", fixture("apps/cpu_server.js"), "--name", "auto", "--max-instances", "3",
                        "--scale-metric", "pending"},
                       {{"PORT", std::to_string(free_tcp_port())}})
                .exit_code,
            0);
  const auto web = home.wait_online("web \"quoted\"", 2);
  const auto worker = home.wait_online("worker", 1);
  for (int i = 0; i < 3; ++i) ASSERT_NE(http_get(port).find("pid "), std::string::npos);

  auto r = home.drove({"metrics"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& text = r.out;
  for (pid_t pid : web) {
    EXPECT_NE(text.find("drove_process_up{app=\"web \\\"quoted\\\"\",namespace=\"default\",instance=\"" +
                        std::to_string(pid == web[0] ? 0 : 1) + "\",pid=\"" + std::to_string(pid) + "\"} 1\n"),
              std::string::npos)
        << text;
  }
  EXPECT_NE(text.find("drove_process_restarts_total{app=\"worker\",namespace=\"default\",instance=\"2\",pid=\"" +
                      std::to_string(worker[0]) + "\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("drove_process_state{app=\"worker\",namespace=\"default\",instance=\"2\",pid=\"" +
                      std::to_string(worker[0]) + "\",state=\"online\"} 1\n"),
            std::string::npos)
      << text;
  // Three requests through the daemon's round-robin accept path.
  EXPECT_NE(text.find("drove_cluster_accepted_connections_total{app=\"web \\\"quoted\\\"\",namespace=\"default\","),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("drove_cluster_accepted_connections_total{app=\"web \\\"quoted\\\"\",namespace=\"default\","
                      "address=\"\",port=\"" +
                      std::to_string(port) + "\"} 0\n"),
            std::string::npos)
      << text;
  // Nothing waits in the idle app's accept queue.
  EXPECT_NE(
      text.find("drove_cluster_accept_queue{app=\"web \\\"quoted\\\"\",namespace=\"default\",address=\"\",port=\"" +
                std::to_string(port) + "\"} 0\n"),
      std::string::npos)
      << text;
  // The autoscaled app, once its signal was measured (its listener's queue, each second).
  EXPECT_NE(text.find("drove_autoscale_max_instances{app=\"auto\",namespace=\"default\"} 3\n"), std::string::npos)
      << text;
  ASSERT_TRUE(wait_until([&] {
    return home.drove({"metrics"})
               .out.find("drove_autoscale_signal{app=\"auto\",namespace=\"default\",metric=\"pending\"} 0\n") !=
           std::string::npos;
  }));
  EXPECT_NE(text.find("drove_daemon_info{version=\"" + std::string(DROVE_TEST_VERSION) + "\",pid=\"" +
                      std::to_string(*home.daemon_pid()) + "\"} 1\n"),
            std::string::npos)
      << text;

  const std::string promtool = find_promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found (scripts/setup.sh unpacks it from Debian's prometheus)";
  const std::string file = home.scratch() + "/metrics.prom";
  write_file(file, text);
  auto check = run_program({"/bin/sh", "-c", "'" + promtool + "' check metrics < '" + file + "'"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool's lint found problems";
}

// What the sampler measures of each instance's tree beyond CPU and memory (its descriptors and
// threads, as /proc shows them), what the router counts per worker, and what a reload took.
TEST(Metrics, DescriptorsThreadsWorkersAndReloadsAreMeasured) {
  DroveHome home;
  const int port = free_tcp_port();
  home.start_web(port);
  if (::testing::Test::HasFailure()) return;
  // What /proc says, counted here: the entries of fd/ and the Threads: line of status.
  const auto proc_fds = [](pid_t pid) {
    long n = 0;
    std::error_code ignored;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ignored);
         it != std::filesystem::directory_iterator(); it.increment(ignored))
      ++n;
    return n;
  };
  const auto proc_threads = [](pid_t pid) {
    const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    const auto at = status.find("\nThreads:");
    return at == std::string::npos ? -1L : std::atol(status.c_str() + at + 9);
  };
  // Sampled each second; an idle Node worker holds its descriptors and threads steady.
  ASSERT_TRUE(wait_until([&] {
    for (const auto& p : home.processes("web")) {
      const pid_t pid = p.value("pid", 0);
      const auto& monit = p["monit"];
      if (std::labs(monit.value("fds", 0L) - proc_fds(pid)) > 1 || monit.value("threads", 0L) != proc_threads(pid) ||
          monit.value("private_memory", 0L) <= 0 || monit.value("private_memory", 0L) > monit.value("memory", 0L))
        return false;
    }
    return true;
  })) << home.drove({"jlist"}).out;

  ASSERT_EQ(home.drove({"reload", "web"}).exit_code, 0);
  const auto after = home.processes("web");
  ASSERT_EQ(after.size(), 2u);
  for (int i = 0; i < 4; ++i) ASSERT_NE(http_get(port).find("pid "), std::string::npos);
  // The previous processes' stop is measured once they are gone.
  ASSERT_TRUE(wait_until([&] {
    for (const auto& p : home.processes("web")) {
      if (!p["pm2_env"].contains("last_reload") || p["pm2_env"]["last_reload"]["previous_stop_ms"].is_null())
        return false;
    }
    return true;
  })) << home.drove({"jlist"}).out;
  const std::string text = home.drove({"metrics"}).out;
  EXPECT_NE(text.find("drove_reloads_total{app=\"web\",namespace=\"default\",outcome=\"done\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("drove_reloads_total{app=\"web\",namespace=\"default\",outcome=\"aborted\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("drove_reload_last_duration_seconds{app=\"web\",namespace=\"default\"} "), std::string::npos);
  double handed = 0;
  for (const auto& p : after) {
    const std::string labels = "{app=\"web\",namespace=\"default\",instance=\"" + std::to_string(p.value("pm_id", -1)) +
                               "\",pid=\"" + std::to_string(p.value("pid", 0)) + "\"} ";
    EXPECT_NE(text.find("drove_process_last_reload_ready_seconds" + labels), std::string::npos) << text;
    EXPECT_NE(text.find("drove_process_last_reload_retirement_seconds" + labels), std::string::npos) << text;
    const auto at = text.find("drove_cluster_worker_handed_connections_total" + labels);
    ASSERT_NE(at, std::string::npos) << text;
    handed += std::atof(text.c_str() + text.find("} ", at) + 2);
  }
  // The replacements got exactly the four requests sent since they took over.
  EXPECT_EQ(handed, 4) << text;
}

// node_metrics: drove's preload reports a Node app's heap and event-loop latency as @pm2/io's
// messages (fork and cluster mode), only for apps that ask; it keeps no app alive; and a
// non-Node app that asks is refused.
TEST(Metrics, NodeMetricsPreloadReportsHeapAndLoopLatencyOnlyWhenAsked) {
  DroveHome home;
  const int port = free_tcp_port();
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "--name", "web", "-i", "2", "--node-metrics"},
                       {{"PORT", std::to_string(port)}})
                .exit_code,
            0);
  ASSERT_EQ(home.drove({"start", fixture("apps/loop_blocker.js"), "--name", "blocker", "--node-metrics"}).exit_code, 0);
  ASSERT_EQ(home.drove({"start", fixture("apps/pid_server.js"), "--name", "plain"},
                       {{"PORT", std::to_string(free_tcp_port())}})
                .exit_code,
            0);
  const auto web = home.wait_online("web", 2);
  home.wait_online("plain", 1);
  const auto metric = [](const nlohmann::json& process, const char* name) {
    const auto& monitor = process["pm2_env"]["axm_monitor"];
    return monitor.contains(name) && monitor[name]["value"].is_number() ? monitor[name]["value"].get<double>() : -1.0;
  };
  ASSERT_TRUE(wait_until([&] {
    for (const auto& p : home.processes("web")) {
      if (metric(p, "Heap Size") <= 0 || metric(p, "Used Heap Size") <= 0 ||
          metric(p, "Used Heap Size") > metric(p, "Heap Size") || metric(p, "Event Loop Latency p95") < 0)
        return false;
    }
    return true;
  })) << home.drove({"jlist"}).out;
  // A loop held 100 ms out of every 200: its p95 latency shows it.
  ASSERT_TRUE(wait_until([&] {
    const auto p = home.processes("blocker");
    return !p.empty() && metric(p[0], "Event Loop Latency p95") >= 50;
  })) << home.drove({"describe", "blocker"}).out;
  EXPECT_NE(read_file("/proc/" + std::to_string(web[0]) + "/cmdline").find(std::string("--require\0", 10)),
            std::string::npos);
  // Only the apps that asked: plain has been sampled as long as web, and reports nothing.
  EXPECT_EQ(metric(home.processes("plain")[0], "Heap Size"), -1.0) << home.drove({"jlist"}).out;
  const std::string text = home.drove({"metrics"}).out;
  EXPECT_NE(text.find("drove_app_metric{app=\"web\",namespace=\"default\",instance=\"0\",pid=\"" +
                      std::to_string(web[0]) + "\",metric=\"Heap Size\",unit=\"MiB\"} "),
            std::string::npos)
      << text;

  // An app that ends on its own still ends: the preload holds nothing open.
  ASSERT_EQ(home.drove({"start", fixture("apps/brief.js"), "--name", "brief", "--node-metrics", "--no-autorestart"})
                .exit_code,
            0);
  ASSERT_TRUE(wait_until([&] {
    const auto p = home.processes("brief");
    return !p.empty() && p[0]["pm2_env"].value("status", "") == "stopped" &&
           p[0]["pm2_env"].value("exit_code", -1) == 0;
  })) << home.drove({"jlist"}).out;

  // Not a Node app: refused in one line, and nothing is added.
  const auto refused = home.drove({"start", fixture("apps/worker.py"), "--name", "py", "--node-metrics"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("'node_metrics' is for Node apps"), std::string::npos) << refused.err;
  EXPECT_TRUE(home.processes("py").empty());
}

// The daemon keeps each instance's last minutes of CPU and memory (sampled every
// DROVE_SAMPLE_INTERVAL_MS, kept for DROVE_HISTORY_MINUTES) for monit and the dashboard to draw
// at once, across restarts; and how its processes ended.
TEST(Metrics, TheDaemonKeepsEachInstancesHistoryAndExits) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "w"},
                       {{"DROVE_SAMPLE_INTERVAL_MS", "200"}, {"DROVE_HISTORY_MINUTES", "1"}})
                .exit_code,
            0);
  const auto first = home.wait_online("w", 1);
  cli::Client client = cli::Client::connect(HomeLayout{home.path()}, false);
  const auto history = [&] { return client.call("list", {{"history", true}}).at(0).at("history"); };
  // Five samples at 200 ms: the period asked for, not the default second.
  ASSERT_TRUE(wait_until([&] { return history()["cpu"].size() >= 5; })) << history().dump();
  auto h = history();
  EXPECT_EQ(h["interval_ms"], 200);
  EXPECT_EQ(h["cpu"].size(), h["memory"].size());
  for (const auto& m : h["memory"]) EXPECT_GT(m.get<std::uint64_t>(), 0u) << h.dump();
  EXPECT_FALSE(client.call("list").at(0).contains("history"));  // only when asked

  ASSERT_EQ(home.drove({"restart", "w"}).exit_code, 0);
  const auto second = home.wait_online("w", 1);
  ASSERT_NE(first[0], second[0]);
  ::kill(second[0], SIGKILL);
  ASSERT_TRUE(wait_until([&] {
    const auto p = home.processes("w");
    return !p.empty() && p[0].value("pid", 0) != second[0] && p[0].value("pid", 0) != 0 &&
           p[0]["pm2_env"].value("status", "") == "online";
  }));
  // How each ended, oldest first: stopped by the restart, then killed.
  const auto described = client.call("list", {{"full", true}}).at(0);
  const auto& exits = described.at("exit_history");
  ASSERT_EQ(exits.size(), 2u) << described.dump();
  EXPECT_TRUE(exits[0]["stopped"].get<bool>());
  EXPECT_FALSE(exits[1]["stopped"].get<bool>());
  EXPECT_EQ(exits[1]["signal"], "SIGKILL");
  EXPECT_NE(home.drove({"describe", "w"}).out.find("SIGKILL after"), std::string::npos);
  // The history is the instance's: it ran on across both restarts.
  const std::size_t before = h["cpu"].size();
  ASSERT_TRUE(wait_until([&] { return history()["cpu"].size() >= before + 5; }));
}

// An app that uses PM2's @pm2/io, unchanged: its metrics reach describe, jlist (PM2's
// pm2_env.axm_monitor and axm_actions), and drove metrics, which promtool still accepts.
TEST(Metrics, AnAppsOwnPm2IoMetricsShowInDescribeJlistAndMetrics) {
  DroveHome home;
  const auto pids = home.start_pm2io_app("io");
  if (::testing::Test::HasFailure()) return;
  // @pm2/io reports every second.
  ASSERT_TRUE(wait_until([&] {
    return home.drove({"describe", "io"}).out.find("queue depth") != std::string::npos;
  })) << home.drove({"describe", "io"}).out;
  const std::string described = home.drove({"describe", "io"}).out;
  EXPECT_NE(described.find("42 jobs"), std::string::npos) << described;
  EXPECT_NE(described.find("ping"), std::string::npos) << described;
  const auto processes = home.processes("io");
  ASSERT_EQ(processes.size(), 1u);
  const auto& env = processes[0]["pm2_env"];
  EXPECT_EQ(env["axm_monitor"]["queue depth"]["value"], 42) << env["axm_monitor"].dump();
  EXPECT_EQ(env["axm_monitor"]["queue depth"]["unit"], "jobs");
  EXPECT_EQ(env["axm_monitor"]["handled"]["value"], 3);
  bool ping = false;
  for (const auto& action : env["axm_actions"]) ping = ping || action["action_name"] == "ping";
  EXPECT_TRUE(ping) << env["axm_actions"].dump();
  const auto r = home.drove({"metrics"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("drove_app_metric{app=\"io\",namespace=\"default\",instance=\"0\",pid=\"" +
                       std::to_string(pids[0]) + "\",metric=\"queue depth\",unit=\"jobs\"} 42\n"),
            std::string::npos)
      << r.out;
  // @pm2/io's reports are not app messages: `describe` shows no "last message" from them.
  EXPECT_EQ(described.find("last message"), std::string::npos) << described;
  const std::string promtool = find_promtool();
  ASSERT_FALSE(promtool.empty()) << "promtool not found: run scripts/setup.sh";
  const auto checked = run_program({promtool, "check", "metrics"}, {}, r.out);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

}  // namespace
}  // namespace drove::e2e
