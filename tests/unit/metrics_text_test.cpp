// drove metrics' exposition: families whole (HELP and TYPE once, then every sample), label
// values escaped, states and uptime as documented.
#include "daemon/metrics_text.hpp"

#include <gtest/gtest.h>

namespace drove::daemon {
namespace {

TEST(MetricsText, FamiliesAreWholeAndLabelValuesEscaped) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  supervisor::ProcessView up{.id = 0,
                             .name = "api",
                             .namespace_name = "prod",
                             .pid = 10,
                             .state = supervisor::InstanceState::online,
                             .restart_time = 3,
                             .started_at_ms = 1000,
                             .cpu_percent = 12.5,
                             .memory_bytes = 2048,
                             .private_memory_bytes = 1024,
                             .open_fds = 21,
                             .threads = 7,
                             .tree_processes = 2,
                             .last_replacement_ready_ms = 250,
                             .last_retirement_ms = 40};
  supervisor::ProcessView down{
      .id = 1, .name = "api", .namespace_name = "prod", .pid = 0, .state = supervisor::InstanceState::stopped};
  const std::string text =
      metrics_text({.processes = {up, down},
                    .listeners = {{.app = "api", .namespace_name = "prod", .address = "", .port = 80, .accepted = 7}},
                    .autoscaled = {{.app = "api",
                                    .namespace_name = "prod",
                                    .metric = "cpu",
                                    .instances = 2,
                                    .recommended = 3,
                                    .min_instances = 1,
                                    .max_instances = 4,
                                    .target = 70,
                                    .signal = 190.5,
                                    .ups = 2,
                                    .downs = 1}},
                    .workers = {{.process = up, .handed = 9, .in_flight = 1, .open_connections = 4}},
                    .reloads = {{.app = "api", .namespace_name = "prod", .done = 2, .aborted = 1, .last_ms = 1500}},
                    .daemon = {.version = "9.9.9", .pid = 42, .resident_bytes = 4096},
                    .now_ms = 61000});
  const std::string labels0 = R"(app="api",namespace="prod",instance="0",pid="10")";
  const std::string labels1 = R"(app="api",namespace="prod",instance="1",pid="0")";
  EXPECT_NE(text.find("# TYPE drove_process_up gauge\ndrove_process_up{" + labels0 + "} 1\ndrove_process_up{" +
                      labels1 + "} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("drove_process_state{" + labels1 + ",state=\"stopped\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_restarts_total{" + labels0 + "} 3\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_uptime_seconds{" + labels0 + "} 60\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_uptime_seconds{" + labels1 + "} 0\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_cpu_percent{" + labels0 + "} 12.5\n"), std::string::npos);
  EXPECT_NE(text.find(R"(drove_cluster_accepted_connections_total{app="api",namespace="prod",address="",port="80"} 7)"),
            std::string::npos);
  EXPECT_NE(text.find("drove_daemon_info{version=\"9.9.9\",pid=\"42\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find(R"(drove_autoscale_signal{app="api",namespace="prod",metric="cpu"} 190.5)"), std::string::npos);
  EXPECT_NE(text.find(R"(drove_autoscale_recommended_instances{app="api",namespace="prod"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(drove_autoscale_decisions_total{app="api",namespace="prod",direction="down"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find("drove_process_open_fds{" + labels0 + "} 21\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_threads{" + labels0 + "} 7\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_private_memory_bytes{" + labels0 + "} 1024\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_tree_processes{" + labels0 + "} 2\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_last_reload_ready_seconds{" + labels0 + "} 0.25\n"), std::string::npos);
  EXPECT_NE(text.find("drove_process_last_reload_retirement_seconds{" + labels0 + "} 0.04\n"), std::string::npos);
  EXPECT_EQ(text.find("drove_process_last_reload_ready_seconds{" + labels1), std::string::npos);  // never reloaded
  EXPECT_NE(text.find(R"(drove_reloads_total{app="api",namespace="prod",outcome="aborted"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(drove_reload_last_duration_seconds{app="api",namespace="prod"} 1.5)"), std::string::npos);
  EXPECT_NE(text.find("drove_cluster_worker_handed_connections_total{" + labels0 + "} 9\n"), std::string::npos);
  EXPECT_NE(text.find("drove_cluster_worker_unacknowledged_connections{" + labels0 + "} 1\n"), std::string::npos);
  EXPECT_NE(text.find("drove_cluster_worker_open_connections{" + labels0 + "} 4\n"), std::string::npos);
  // Every family's HELP comes once, right before its TYPE.
  std::size_t helps = 0;
  for (std::size_t at = text.find("# HELP "); at != std::string::npos; at = text.find("# HELP ", at + 1)) ++helps;
  std::size_t types = 0;
  for (std::size_t at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1)) ++types;
  EXPECT_EQ(helps, types);
  EXPECT_EQ(helps, 35u);
}

}  // namespace
}  // namespace drove::daemon
