// The corpus of realistic ecosystem files in tests/fixtures/ecosystem, loaded for real (JS with
// the real node) and checked field by field.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "config/json_document.hpp"
#include "config_test_support.hpp"

namespace drove::config {
namespace {

using testing::corpus_dir;
using testing::shell_in;
using Strings = std::vector<std::string>;

const AppSpec& app_named(const Loaded& loaded, const std::string& name) {
  for (const auto& app : loaded.apps) {
    if (app.name == name) return app;
  }
  throw std::runtime_error("no app " + name);
}

TEST(ConfigCorpus, JsonWithSeveralAppsAliasesUnitsAndEnvProduction) {
  const std::string dir = corpus_dir();
  auto context = shell_in(dir);
  context.env_name = "production";
  const Loaded loaded = load_ecosystem("full.json", nlohmann::json::object(), context);
  EXPECT_TRUE(loaded.warnings.empty());
  ASSERT_EQ(loaded.apps.size(), 3u);

  const AppSpec& api = app_named(loaded, "api");
  EXPECT_EQ(api.exec_path, dir + "/apps/server.js");
  EXPECT_EQ(api.interpreter, "node");
  EXPECT_EQ(api.cwd, dir);
  EXPECT_EQ(api.instances, 4);
  EXPECT_EQ(api.instances_requested, "max");
  EXPECT_EQ(api.exec_mode, ExecMode::cluster);
  EXPECT_EQ(api.lb, LoadBalance::least_connections);
  EXPECT_EQ(api.increment_var, "PORT");
  EXPECT_EQ(api.env.at("NODE_ENV"), "production");
  EXPECT_EQ(api.env.at("API_URL"), "https://api.example.com");
  EXPECT_EQ(api.env.at("PORT"), "3000");
  EXPECT_EQ(api.env.at("DEBUG"), "true");
  EXPECT_EQ(api.env.at("SECRET_TOKEN"), "s3cr3t");  // the shell's environment is inherited
  EXPECT_EQ(api.env_name, "production");
  EXPECT_EQ(api.out_file, dir + "/logs/api.out.log");
  EXPECT_EQ(api.error_file, dir + "/logs/api.err.log");
  EXPECT_EQ(api.max_memory_restart, 500LL * 1024 * 1024);
  EXPECT_EQ(api.kill_timeout_ms, 5000);
  EXPECT_FALSE(api.merge_logs);
  EXPECT_EQ(api.source_file, dir + "/full.json");

  const AppSpec& worker = app_named(loaded, "worker");
  EXPECT_EQ(worker.script, "apps/worker.js");
  EXPECT_EQ(worker.interpreter_args, (Strings{"--max-old-space-size=256", "--trace-warnings"}));
  EXPECT_EQ(worker.args, (Strings{"--queue", "emails and sms"}));
  EXPECT_EQ(worker.max_restarts, 5);
  EXPECT_EQ(worker.min_uptime_ms, 10'000);
  EXPECT_EQ(worker.restart_delay_ms, 250);
  EXPECT_EQ(worker.exp_backoff_restart_delay_ms, 100);
  EXPECT_EQ(worker.cron_restart, "0 */2 * * *");
  EXPECT_EQ(worker.stop_exit_codes, (std::vector<int>{0, 3}));
  EXPECT_EQ(worker.exec_mode, ExecMode::fork);
  EXPECT_EQ(worker.instances, 1);
  EXPECT_TRUE(worker.merge_logs);  // fork mode: one log file, as PM2

  const AppSpec& job = app_named(loaded, "job");  // named after the script
  EXPECT_EQ(job.cwd, dir + "/apps");
  EXPECT_EQ(job.exec_path, dir + "/apps/job.py");
  EXPECT_EQ(job.interpreter, "python3");
  EXPECT_EQ(job.args, (Strings{"--verbose", "--name", "nightly job"}));
  EXPECT_TRUE(job.watch);
  EXPECT_EQ(job.watch_paths, Strings{dir + "/apps"});
  EXPECT_EQ(job.ignore_watch, (Strings{"node_modules", "\\.log$"}));
  EXPECT_EQ(job.watch_delay_ms, 1000);
  EXPECT_EQ(job.log_max_size, 10LL * 1024 * 1024);
  EXPECT_EQ(job.log_retain, 3);
  EXPECT_TRUE(job.log_compress);
  EXPECT_EQ(job.log_type, LogType::json);
  EXPECT_TRUE(job.time);
  EXPECT_EQ(job.env.count("SECRET_TOKEN"), 0u);  // filter_env: ["SECRET_"]
  EXPECT_EQ(job.env.count("SECRET_KEY"), 0u);
  EXPECT_EQ(job.env.at("LANG"), "C.UTF-8");
}

TEST(ConfigCorpus, WithoutEnvNameOnlyEnvApplies) {
  const Loaded loaded = load_ecosystem("full.json", nlohmann::json::object(), shell_in(corpus_dir()));
  const AppSpec& api = app_named(loaded, "api");
  EXPECT_EQ(api.env.at("NODE_ENV"), "development");
  EXPECT_EQ(api.env.count("API_URL"), 0u);
  EXPECT_EQ(api.env_name, "");
}

TEST(ConfigCorpus, YamlWithAnchorsListenSocketsAndACommand) {
  const std::string dir = corpus_dir();
  auto context = shell_in(dir);
  context.env_name = "staging";
  const Loaded loaded = load_ecosystem("ecosystem.yml", nlohmann::json::object(), context);
  EXPECT_TRUE(loaded.warnings.empty());
  ASSERT_EQ(loaded.apps.size(), 3u);

  const AppSpec& api = app_named(loaded, "api");
  EXPECT_EQ(api.instances, 3);  // -1 on four CPUs
  EXPECT_EQ(api.instances_requested, "-1");
  EXPECT_EQ(api.exec_mode, ExecMode::cluster);
  EXPECT_EQ(api.max_restarts, 7);  // from the <<: *defaults merge
  EXPECT_EQ(api.kill_timeout_ms, 3000);
  EXPECT_EQ(api.env.at("NODE_ENV"), "staging");
  EXPECT_EQ(api.env.at("PORT"), "3000");
  EXPECT_EQ(api.env.at("FEATURE"), "yes");  // YAML 1.2: yes is a string

  const AppSpec& tool = app_named(loaded, "tool");
  EXPECT_EQ(tool.interpreter, "none");
  EXPECT_EQ(tool.exec_mode, ExecMode::cluster);
  EXPECT_EQ(tool.lb, LoadBalance::reuseport);
  EXPECT_EQ(tool.port, 7070);
  const std::vector<ListenSpec> listen = {
      {"", 7070, "http"}, {"", 8080, "http-2"}, {"127.0.0.1", 9090, "http-3"}, {dir + "/tool.sock", 0, "tool.sock"}};
  EXPECT_EQ(tool.listen, listen);

  const AppSpec& shell = app_named(loaded, "shell");
  EXPECT_EQ(shell.interpreter, "bash");
  EXPECT_EQ(shell.interpreter_args, Strings{"-c"});
  EXPECT_EQ(shell.exec_path, "echo hello && sleep 100");
  EXPECT_FALSE(shell.autostart);
}

TEST(ConfigCorpus, JsFileComputesItsValuesWithNode) {
  const std::string dir = corpus_dir();
  const Loaded loaded = load_ecosystem("ecosystem.config.js", nlohmann::json::object(), shell_in(dir));
  EXPECT_TRUE(loaded.warnings.empty());  // the function-valued key is dropped, not warned about
  ASSERT_EQ(loaded.apps.size(), 2u);

  const AppSpec& web = loaded.apps[0];
  std::smatch cpus;
  ASSERT_TRUE(std::regex_match(web.name, cpus, std::regex("web-([0-9]+)cpu"))) << web.name;
  EXPECT_EQ(web.instances, std::stoi(cpus[1]));       // require('os').cpus().length
  EXPECT_EQ(web.exec_path, dir + "/apps/server.js");  // path.join(__dirname, ...)
  EXPECT_EQ(web.env.at("PORT"), "4001");
  EXPECT_EQ(web.env.at("HOME_DIR"), dir + "/www");
  EXPECT_EQ(web.env.at("FROM_SHELL"), "from-shell");               // node sees the invoking shell's env
  EXPECT_EQ(web.ignore_watch, (Strings{"node_modules", "logs"}));  // a RegExp gives its source
  EXPECT_EQ(web.source_file, dir + "/ecosystem.config.js");

  const AppSpec& helper = loaded.apps[1];
  EXPECT_EQ(helper.name, "helper");
  EXPECT_EQ(helper.exec_path, dir + "/apps/worker.js");
  EXPECT_EQ(helper.max_memory_restart, 512LL * 1024 * 1024);
}

TEST(ConfigCorpus, MjsWithExportDefault) {
  const std::string dir = corpus_dir();
  const Loaded loaded = load_ecosystem("ecosystem.config.mjs", nlohmann::json::object(), shell_in(dir));
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "esm-app");
  EXPECT_EQ(loaded.apps[0].exec_path, dir + "/apps/server.js");
  EXPECT_EQ(loaded.apps[0].exec_mode, ExecMode::fork);  // explicit fork wins over instances
  EXPECT_EQ(loaded.apps[0].instances, 3);
}

TEST(ConfigCorpus, CjsExportingAnAsyncFunction) {
  const Loaded loaded = load_ecosystem("function.config.cjs", nlohmann::json::object(), shell_in(corpus_dir()));
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "from-function");
  EXPECT_EQ(loaded.apps[0].env.at("N"), "2");
}

TEST(ConfigCorpus, BareArrayOfApps) {
  const std::string dir = corpus_dir();
  const Loaded loaded = load_ecosystem("bare-array.json", nlohmann::json::object(), shell_in(dir));
  ASSERT_EQ(loaded.apps.size(), 2u);
  EXPECT_EQ(loaded.apps[0].name, "one");
  EXPECT_EQ(loaded.apps[0].port, 8080);
  EXPECT_EQ(loaded.apps[0].env.at("PORT"), "8080");
  EXPECT_TRUE(loaded.apps[0].listen.empty());  // node apps listen themselves
  EXPECT_EQ(loaded.apps[1].exec_path, dir + "/bin/tool");
  EXPECT_EQ(loaded.apps[1].interpreter, "none");  // executable without extension
  EXPECT_EQ(loaded.apps[1].args, Strings{"--flag"});
}

TEST(ConfigCorpus, OneAppObjectAtTheRoot) {
  const Loaded loaded = load_ecosystem("single-app.json", nlohmann::json::object(), shell_in(corpus_dir()));
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "solo");
  EXPECT_EQ(loaded.apps[0].exec_mode, ExecMode::cluster);  // cluster_mode
  EXPECT_EQ(loaded.apps[0].instances, 2);
}

TEST(ConfigCorpus, FileFoundFromAnotherDirectoryResolvesFromItsOwn) {
  const std::string dir = corpus_dir();
  const Loaded loaded = load_ecosystem(dir + "/bare-array.json", nlohmann::json::object(), shell_in("/"));
  EXPECT_EQ(loaded.apps[0].cwd, dir);
  EXPECT_EQ(loaded.apps[0].exec_path, dir + "/apps/server.js");
}

TEST(ConfigCorpus, DashReadsJsonFromStdin) {
  testing::TempDir tmp;
  const std::string input = tmp.write("in.json", R"({"apps":[{"name":"piped","script":"apps/worker.js"}]})");
  ASSERT_NE(std::freopen(input.c_str(), "r", stdin), nullptr);
  const Loaded loaded = load_ecosystem("-", nlohmann::json::object(), shell_in(corpus_dir()));
  ASSERT_NE(std::freopen("/dev/null", "r", stdin), nullptr);
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "piped");
  EXPECT_EQ(loaded.apps[0].exec_path, corpus_dir() + "/apps/worker.js");
  EXPECT_EQ(loaded.apps[0].source_file, "");
}

TEST(ConfigCorpus, AppSpecSurvivesItsJsonRoundTrip) {
  const Loaded loaded = load_ecosystem("ecosystem.yml", nlohmann::json::object(), shell_in(corpus_dir()));
  for (const auto& app : loaded.apps) {
    nlohmann::json once = app;
    nlohmann::json twice = once.get<AppSpec>();
    EXPECT_EQ(once, twice) << app.name;
  }
}

}  // namespace
}  // namespace drove::config
