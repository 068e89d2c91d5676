// ProcessView on the wire: the daemon's one mapping (daemon/process_json.cpp) gives the CLI what
// its table, describe and PM2-shaped jlist read.
#include "daemon/process_json.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include "cli/render.hpp"

namespace drove::daemon {
namespace {

using supervisor::InstanceState;
using supervisor::ProcessView;
using supervisor::TreeKill;

ProcessView sample_view() {
  ProcessView v;
  v.id = 7;
  v.index = 2;
  v.name = "api";
  v.namespace_name = "shop";
  v.pid = 4242;
  v.state = InstanceState::waiting_restart;
  v.exec_mode = ExecMode::cluster;
  v.restart_time = 3;
  v.started_at_ms = 1700000000000;
  v.cpu_percent = 12.5;
  v.memory_bytes = 31 * 1024 * 1024;
  v.user = "www-data";
  v.last_error = "boom";
  v.instances = 4;
  v.unstable_restarts = 1;
  v.out_log_path = "/logs/api-out-7.log";
  v.err_log_path = "/logs/api-error-7.log";
  v.pid_path = "/pids/api-7.pid";
  v.exec_path = "/srv/api/server.js";
  v.interpreter = "node";
  v.cwd = "/srv/api";
  v.tree_kill = TreeKill::cgroup;
  v.last_exit = process::ExitStatus{.code = 0, .signal = SIGKILL};
  return v;
}

TEST(ProcessJson, TheRowHasTheTablesColumnsAndNothingOfTheDescription) {
  const auto row = row_json(sample_view());
  EXPECT_EQ(row["id"], 7);
  EXPECT_EQ(row["index"], 2);
  EXPECT_EQ(row["namespace"], "shop");
  EXPECT_EQ(row["status"], "waiting restart");
  EXPECT_EQ(row["exec_mode"], "cluster");
  EXPECT_EQ(row["memory"], 31 * 1024 * 1024);
  EXPECT_EQ(row["user"], "www-data");
  EXPECT_FALSE(row.contains("out_log_path"));
  EXPECT_FALSE(row.contains("last_exit"));
  const std::string table = cli::render_table(nlohmann::json::array({row}), false);
  EXPECT_NE(table.find("api"), std::string::npos) << table;
  EXPECT_NE(table.find("waiting restart"), std::string::npos) << table;
  EXPECT_NE(table.find("www-data"), std::string::npos) << table;
}

TEST(ProcessJson, TheViewDescribesAndOptionalPartsAppearOnlyWhenSet) {
  auto v = sample_view();
  auto j = view_json(v);
  EXPECT_EQ(j["tree_kill"], "cgroup");
  EXPECT_EQ(j["last_exit"]["signal"], "SIGKILL");
  EXPECT_EQ(j["pid_path"], "/pids/api-7.pid");
  EXPECT_FALSE(j.contains("dropped_messages"));
  v.dropped_messages = 5;
  v.last_dropped_reason = "not JSON";
  v.last_exit.reset();
  j = view_json(v);
  EXPECT_EQ(j["dropped_messages"]["count"], 5);
  EXPECT_EQ(j["dropped_messages"]["last_reason"], "not JSON");
  EXPECT_FALSE(j.contains("last_exit"));
}

TEST(ProcessJson, PmTwoJlistReadsTheView) {
  auto p = view_json(sample_view());
  p["spec"] = {{"name", "api"}, {"instances", 4}};
  const auto jlist = cli::to_pm2_jlist(nlohmann::json::array({p}));
  ASSERT_EQ(jlist.size(), 1u);
  const auto& env = jlist[0]["pm2_env"];
  EXPECT_EQ(jlist[0]["pm_id"], 7);
  EXPECT_EQ(jlist[0]["pid"], 4242);
  EXPECT_EQ(env["status"], "waiting restart");
  EXPECT_EQ(env["exec_mode"], "cluster_mode");
  EXPECT_EQ(env["NODE_APP_INSTANCE"], 2);
  EXPECT_EQ(env["pm_out_log_path"], "/logs/api-out-7.log");
  EXPECT_EQ(env["exit_code"], 0);
  EXPECT_EQ(jlist[0]["monit"]["memory"], 31 * 1024 * 1024);
}

}  // namespace
}  // namespace drove::daemon
