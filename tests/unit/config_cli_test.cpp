// The CLI path: `drove start <script> [flags] -- args`, flags overriding ecosystem files, and
// the helpers `start` and `init` use.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/sample_ecosystem.hpp"
#include "config_test_support.hpp"

namespace drove::config {
namespace {

using nlohmann::json;
using testing::corpus_dir;
using testing::error_of;
using testing::shell_in;
using testing::TempDir;
using Strings = std::vector<std::string>;

AppSpec start(const std::string& script, const json& flags, const LoadContext& context) {
  Loaded loaded = app_from_script(script, flags, context);
  EXPECT_EQ(loaded.apps.size(), 1u);
  return loaded.apps.at(0);
}

TEST(ConfigCli, NameAndInstancesMax) {
  const std::string dir = corpus_dir();
  const AppSpec app = start("apps/server.js", {{"name", "x"}, {"instances", "max"}}, shell_in(dir));
  EXPECT_EQ(app.name, "x");
  EXPECT_EQ(app.instances, 4);
  EXPECT_EQ(app.instances_requested, "max");
  EXPECT_EQ(app.exec_mode, ExecMode::cluster);
  EXPECT_EQ(app.exec_path, dir + "/apps/server.js");
  EXPECT_EQ(app.cwd, dir);
  EXPECT_EQ(app.source_file, "");
}

TEST(ConfigCli, DefaultsAreThoseOfPm2) {
  const AppSpec app = start("apps/server.js", json::object(), shell_in(corpus_dir()));
  EXPECT_EQ(app.name, "server");
  EXPECT_EQ(app.namespace_name, "default");
  EXPECT_EQ(app.instances, 1);
  EXPECT_EQ(app.exec_mode, ExecMode::fork);
  EXPECT_EQ(app.interpreter, "node");
  EXPECT_EQ(app.instance_var, "NODE_APP_INSTANCE");
  EXPECT_EQ(app.min_uptime_ms, 1000);
  EXPECT_EQ(app.max_restarts, 16);
  EXPECT_EQ(app.kill_timeout_ms, 1600);
  EXPECT_EQ(app.listen_timeout_ms, 3000);
  EXPECT_TRUE(app.autorestart);
  EXPECT_TRUE(app.treekill);
  EXPECT_EQ(app.env.at("SECRET_TOKEN"), "s3cr3t");
}

TEST(ConfigCli, InstancesZeroAndNegativeFollowTheCpuCount) {
  const auto context = shell_in(corpus_dir());
  EXPECT_EQ(start("apps/server.js", {{"instances", 0}}, context).instances, 4);
  EXPECT_EQ(start("apps/server.js", {{"instances", "-1"}}, context).instances, 3);
  EXPECT_EQ(start("apps/server.js", {{"instances", -10}}, context).instances, 1);
  EXPECT_EQ(start("apps/server.js", {{"instances", "3"}}, context).instances, 3);
  // A non-node program with several instances stays in fork mode unless asked.
  EXPECT_EQ(start("apps/job.py", {{"instances", 2}}, context).exec_mode, ExecMode::fork);
  EXPECT_EQ(start("apps/job.py", {{"instances", 2}, {"exec_mode", "cluster"}}, context).exec_mode, ExecMode::cluster);
}

TEST(ConfigCli, ArgumentsAfterDoubleDashAndInterpreterFlags) {
  const AppSpec app =
      start("apps/server.js", {{"args", {"--port", "80"}}, {"node_args", "--inspect --max-old-space-size=100"}},
            shell_in(corpus_dir()));
  EXPECT_EQ(app.args, (Strings{"--port", "80"}));
  EXPECT_EQ(app.interpreter_args, (Strings{"--inspect", "--max-old-space-size=100"}));
}

TEST(ConfigCli, ProgramsFromPathAndCommandLines) {
  const auto context = shell_in(corpus_dir());
  const AppSpec sleeper = start("sleep", {{"args", {"100"}}}, context);
  EXPECT_EQ(sleeper.interpreter, "none");
  EXPECT_EQ(sleeper.exec_path.substr(sleeper.exec_path.rfind('/')), "/sleep");
  EXPECT_EQ(sleeper.name, "sleep");

  const AppSpec command = start("npm run start", json::object(), context);
  EXPECT_EQ(command.interpreter, "bash");
  EXPECT_EQ(command.interpreter_args, Strings{"-c"});
  EXPECT_EQ(command.exec_path, "npm run start");
  EXPECT_EQ(command.name, "npm");
}

TEST(ConfigCli, FlagPathsResolveFromTheShellsCwd) {
  const std::string dir = corpus_dir();
  const AppSpec app =
      start("server.js", {{"cwd", "apps"}, {"output", "out.log"}, {"error", "/tmp/e.log"}}, shell_in(dir));
  EXPECT_EQ(app.cwd, dir + "/apps");
  EXPECT_EQ(app.exec_path, dir + "/apps/server.js");  // the script is looked for in --cwd
  EXPECT_EQ(app.out_file, dir + "/apps/out.log");     // logs are relative to the app's cwd
  EXPECT_EQ(app.error_file, "/tmp/e.log");
}

TEST(ConfigCli, ErrorsNameTheScriptOrTheOption) {
  TempDir tmp;
  const auto context = shell_in(tmp.path());
  EXPECT_EQ(error_of([&] { (void)app_from_script("app.js", json::object(), context); }),
            "app.js: script not found: " + tmp.path() + "/app.js");
  tmp.write("app.js", "");
  EXPECT_EQ(error_of([&] {
              (void)app_from_script("app.js", {{"instances", "abc"}}, context);
            }),
            R"('instances' must be a number or "max", got "abc")");
  EXPECT_EQ(error_of([&] {
              (void)app_from_script("app.js", {{"max_memory_restart", "big"}}, context);
            }),
            R"('max_memory_restart' must be a size (bytes, or "10K", "500M", "1G"), got "big")");
}

TEST(ConfigCli, UnknownFlagKeyIsAWarning) {
  const Loaded loaded = app_from_script("apps/server.js", {{"instance", 2}}, shell_in(corpus_dir()));
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_EQ(loaded.warnings[0].str(), "unknown option 'instance' (did you mean 'instances'?)");
}

TEST(ConfigCli, FlagsAndFileKeysGiveTheSameAppSpec) {
  TempDir tmp;
  tmp.write("app.js", "");
  const json options = {{"script", "app.js"},
                        {"name", "same"},
                        {"instances", 2},
                        {"max_memory_restart", "1G"},
                        {"kill_timeout", "2s"},
                        {"env", {{"A", 1}}},
                        {"args", "--a 'b c'"},
                        {"cron_restart", "0 * * * *"},
                        {"merge_logs", true},
                        {"watch", true},
                        {"log_date_format", "YYYY-MM-DD"},
                        {"namespace", "ns"}};
  tmp.write("ecosystem.json", options.dump());
  const auto context = shell_in(tmp.path());
  json from_file = load_ecosystem("ecosystem.json", json::object(), context).apps.at(0);
  json from_flags = start("app.js", options, context);
  from_file.erase("source_file");
  from_flags.erase("source_file");
  EXPECT_EQ(from_file, from_flags);
}

TEST(ConfigCli, OverridesWinOverFileValuesForEveryApp) {
  const std::string dir = corpus_dir();
  const Loaded loaded = load_ecosystem(
      "full.json", {{"instances", 2}, {"kill_timeout", 100}, {"env", {{"NODE_ENV", "test"}}}}, shell_in(dir));
  for (const auto& app : loaded.apps) {
    EXPECT_EQ(app.instances, 2) << app.name;
    EXPECT_EQ(app.kill_timeout_ms, 100) << app.name;
    EXPECT_EQ(app.env.at("NODE_ENV"), "test") << app.name;
  }
  EXPECT_EQ(loaded.apps[0].env.at("PORT"), "3000");  // env is merged, not replaced
}

TEST(ConfigCli, CwdOverrideResolvesFromTheShellNotTheFile) {
  const std::string dir = corpus_dir();
  const Loaded loaded = load_ecosystem("bad/unknown-keys.yml", {{"cwd", "apps"}}, shell_in(dir));
  EXPECT_EQ(loaded.apps.at(0).cwd, dir + "/apps");
}

TEST(ConfigCli, OnlySelectsAppsButValidatesAll) {
  const auto context = shell_in(corpus_dir());
  const Loaded loaded = load_ecosystem("full.json", json::object(), context, {"worker", "nope"});
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "worker");
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_EQ(loaded.warnings[0].str(), "full.json: --only: no app named 'nope'");
  EXPECT_NE(error_of([&] { (void)load_ecosystem("bad/missing-script.json", json::object(), context, {"ok"}); }), "");
}

TEST(ConfigCli, NamePrefixAppendEnvAndFilterEnvTrue) {
  auto context = shell_in(corpus_dir());
  context.env_name = "production";
  const AppSpec app =
      start("apps/server.js", {{"name_prefix", "shop"}, {"append_env_to_name", true}, {"filter_env", true}}, context);
  EXPECT_EQ(app.name, "shop:server-production");
  EXPECT_TRUE(app.env.empty());
}

TEST(ConfigCli, LogFileTrueAndNullOutputs) {
  const AppSpec app =
      start("apps/server.js", {{"log", true}, {"out_file", "NULL"}, {"error_file", false}}, shell_in(corpus_dir()));
  EXPECT_TRUE(app.log_file_default);
  EXPECT_EQ(app.log_file, "");
  EXPECT_EQ(app.out_file, "/dev/null");
  EXPECT_EQ(app.error_file, "/dev/null");
}

TEST(ConfigCli, LooksLikeEcosystemFile) {
  for (const char* yes : {"-", "ecosystem.config.js", "pm2.config.cjs", "app.config.mjs", "ecosystem.js",
                          "process.json", "apps.yml", "apps.yaml", "/srv/x/ecosystem.prod.js"}) {
    EXPECT_TRUE(looks_like_ecosystem_file(yes)) << yes;
  }
  for (const char* no : {"app.js", "server.mjs", "main.py", "bin/tool", "config.js"}) {
    EXPECT_FALSE(looks_like_ecosystem_file(no)) << no;
  }
}

TEST(ConfigInit, SampleEcosystemLoadsAndIsNotOverwritten) {
  TempDir tmp;
  tmp.write("server.js", "");
  tmp.write("worker.py", "");
  const std::string path = tmp.path() + "/ecosystem.config.js";
  ASSERT_TRUE(write_sample_ecosystem(path).ok());
  auto context = shell_in(tmp.path());
  context.env_name = "production";
  const Loaded loaded = load_ecosystem("ecosystem.config.js", json::object(), context);
  EXPECT_TRUE(loaded.warnings.empty());
  ASSERT_EQ(loaded.apps.size(), 2u);
  EXPECT_EQ(loaded.apps[0].exec_mode, ExecMode::cluster);
  EXPECT_EQ(loaded.apps[0].instances, 4);
  EXPECT_EQ(loaded.apps[0].env.at("NODE_ENV"), "production");
  EXPECT_EQ(loaded.apps[1].interpreter, "python3");
  EXPECT_EQ(loaded.apps[1].restart_delay_ms, 2000);

  const Status again = write_sample_ecosystem(path);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, EEXIST);
}

}  // namespace
}  // namespace drove::config
