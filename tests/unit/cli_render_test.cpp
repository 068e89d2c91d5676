// The CLI's PM2-shaped jlist: the shared reply (each app's spec once) and the per-process reply
// give the same document, and the fast text builder writes exactly what the JSON builder would.
#include <gtest/gtest.h>

#include "cli/render.hpp"

using drove::cli::pm2_jlist_text;
using drove::cli::render_versions;
using drove::cli::to_pm2_jlist;
using drove::cli::version_mismatch;
using nlohmann::json;

namespace {

json spec(const std::string& name, int instances) {
  return {
      {"name", name},
      {"instances", instances},
      {"args", {"--port", "8080"}},
      {"env",
       {{"NODE_ENV", "production"}, {"QUOTE", "a\"b\\c"}, {"UNICODE", "żółw"}, {"PORT", "3000"}, {"name", "shadow"}}},
      {"increment_var", "PORT"},
      {"instance_var", "INSTANCE_ID"},
      {"kill_timeout_ms", 5000}};
}

json process(int id, int index, const std::string& name) {
  return {{"id", id},           {"name", name},
          {"index", index},     {"pid", 1000 + id},
          {"status", "online"}, {"exec_mode", "cluster"},
          {"memory", 12345},    {"cpu", 1.5},
          {"restart_time", 2},  {"last_exit", {{"code", 1}, {"signal", ""}}}};
}

// Two apps, instances interleaved, in the daemon's shared shape and in the per-process shape.
std::pair<json, json> both_shapes() {
  json shared = {{"apps", {{{"spec", spec("api", 2)}}, {{"spec", spec("worker", 1)}}}}, {"processes", json::array()}};
  json per_process = json::array();
  const std::vector<std::tuple<int, int, std::string, int>> rows = {
      {0, 0, "api", 0}, {1, 0, "worker", 1}, {2, 1, "api", 0}};
  for (const auto& [id, index, name, app] : rows) {
    json p = process(id, index, name);
    json with_spec = p;
    with_spec["spec"] = shared["apps"][app]["spec"];
    per_process.push_back(with_spec);
    p["app"] = app;
    shared["processes"].push_back(p);
  }
  return {shared, per_process};
}

TEST(CliRender, SharedAndPerProcessRepliesGiveTheSameJlist) {
  const auto [shared, per_process] = both_shapes();
  const json a = to_pm2_jlist(shared);
  EXPECT_EQ(a, to_pm2_jlist(per_process));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[1]["name"], "worker");
  EXPECT_EQ(a[2]["pm2_env"]["INSTANCE_ID"], 1);
  EXPECT_EQ(a[2]["pm2_env"]["env"]["QUOTE"], "a\"b\\c");
  EXPECT_EQ(a[0]["pm2_env"]["kill_timeout"], 5000);
  EXPECT_EQ(a[0]["pm2_env"]["exit_code"], 1);
  EXPECT_EQ(a[0]["pm2_env"]["exec_mode"], "cluster_mode");
  // PM2's shape: the env flattened into pm2_env (PM2's own keys win), increment_var per
  // instance as a number, the combined log and axm_options.module_name.
  EXPECT_EQ(a[0]["pm2_env"]["NODE_ENV"], "production");
  EXPECT_EQ(a[0]["pm2_env"]["name"], "api");
  EXPECT_EQ(a[0]["pm2_env"]["env"]["name"], "shadow");
  EXPECT_EQ(a[0]["pm2_env"]["PORT"], 3000);
  EXPECT_EQ(a[2]["pm2_env"]["PORT"], 3001);
  EXPECT_EQ(a[2]["pm2_env"]["env"]["PORT"], "3000");
  EXPECT_EQ(a[0]["pm2_env"]["axm_options"]["module_name"], "api");
  EXPECT_TRUE(a[0]["pm2_env"].contains("pm_log_path"));
}

TEST(CliRender, JlistTextIsTheJsonBuildersDocument) {
  const auto [shared, per_process] = both_shapes();
  for (const json* reply : {&shared, &per_process}) {
    const std::string text = pm2_jlist_text(*reply);
    const json parsed = json::parse(text);  // throws (fails) if the splice broke the JSON
    EXPECT_EQ(parsed, to_pm2_jlist(*reply));
  }
}

TEST(CliRender, JlistOfNothingAndOfOddRepliesIsAnEmptyArray) {
  EXPECT_EQ(pm2_jlist_text(json::array()), "[]");
  EXPECT_EQ(pm2_jlist_text(json::object()), "[]");
  EXPECT_EQ(to_pm2_jlist(json("x")), json::array());
  // A process whose app index is out of range still gets an entry, with an empty env.
  const json reply = {{"apps", json::array()}, {"processes", {process(7, 0, "lost")}}};
  const json parsed = json::parse(pm2_jlist_text(reply));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["pm2_env"]["env"], json::object());
  EXPECT_EQ(parsed, to_pm2_jlist(reply));
}

TEST(CliRender, VersionsNameTheDaemonAndSayWhenItIsOlder) {
  EXPECT_EQ(render_versions("0.2.0", nullptr), "0.2.0\n");  // no daemon running
  const nlohmann::json same = {{"version", "0.2.0"}, {"pid", 42}};
  EXPECT_EQ(render_versions("0.2.0", same), "0.2.0\ndaemon 0.2.0 (pid 42)\n");
  EXPECT_EQ(version_mismatch("0.2.0", same), "");
  const nlohmann::json older = {{"version", "0.1.0"}, {"pid", 42}};
  EXPECT_EQ(render_versions("0.2.0", older),
            "0.2.0\ndaemon 0.1.0 (pid 42)\nthe running daemon is drove 0.1.0, this drove is 0.2.0: `drove update` "
            "hands the apps to this binary's daemon\n");
  EXPECT_NE(version_mismatch("0.2.0", nlohmann::json::object()).find("of an unknown version"), std::string::npos);
}

}  // namespace
