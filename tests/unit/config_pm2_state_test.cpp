// What drove reads of PM2's own state: a dump.pm2 written by PM2 (config/pm2_dump) and a
// restart's command-line options laid over a running app's (config/spec_patch).
#include <gtest/gtest.h>

#include <set>

#include "config/json_document.hpp"
#include "config/option_names.hpp"
#include "config/pm2_dump.hpp"
#include "config/spec_patch.hpp"
#include "config_test_support.hpp"

namespace drove::config {
namespace {

using nlohmann::json;
using testing::corpus_dir;
using testing::error_of;
using testing::shell_in;

json pm2_entry(const std::string& name, const std::string& status) {
  return {{"name", name},
          {"pm_exec_path", corpus_dir() + "/apps/server.js"},
          {"pm_cwd", corpus_dir()},
          {"exec_interpreter", "node"},
          {"node_args", {"--max-old-space-size=64"}},
          {"args", {"--port", "3000"}},
          {"exec_mode", "cluster_mode"},
          {"env", {{"NODE_ENV", "production"}}},
          {"NODE_ENV", "production"},
          {"status", status},
          {"pm_id", 7},
          {"restart_time", 4},
          {"axm_monitor", json::object()},
          {"vizion", true},
          {"cron_restart", ""},
          {"log_date_format", nullptr},
          {"kill_timeout", 3000},
          {"instance_var", "INSTANCE_ID"},
          {"pm_out_log_path", "/var/log/pm2/" + name + "-out.log"}};
}

std::vector<AppSpec> load_dump(const json& dump) {
  const std::string text = pm2_dump_as_ecosystem(dump).dump();
  return load_ecosystem_document(parse_json_document(text, "dump.pm2", corpus_dir()), json::object(),
                                 shell_in(corpus_dir()))
      .apps;
}

TEST(Pm2Dump, ShapeIsAnArrayOfObjects) {
  EXPECT_TRUE(is_pm2_dump(json::array({json::object()})));
  EXPECT_TRUE(is_pm2_dump(json::array()));
  EXPECT_FALSE(is_pm2_dump(json{{"apps", json::array()}}));
  EXPECT_FALSE(is_pm2_dump(json::array({1})));
}

TEST(Pm2Dump, EntriesOfOneNameAreOneAppWithThatManyInstances) {
  const auto apps =
      load_dump(json::array({pm2_entry("api", "online"), pm2_entry("api", "online"), pm2_entry("jobs", "stopped")}));
  ASSERT_EQ(apps.size(), 2u);
  const AppSpec& api = apps[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.instances, 2);
  EXPECT_EQ(api.exec_mode, ExecMode::cluster);
  EXPECT_EQ(api.exec_path, corpus_dir() + "/apps/server.js");
  EXPECT_EQ(api.interpreter_args, std::vector<std::string>{"--max-old-space-size=64"});
  EXPECT_EQ(api.args, (std::vector<std::string>{"--port", "3000"}));
  EXPECT_EQ(api.env.at("NODE_ENV"), "production");
  EXPECT_EQ(api.kill_timeout_ms, 3000);
  EXPECT_EQ(api.instance_var, "INSTANCE_ID");
  EXPECT_EQ(api.out_file, "/var/log/pm2/api-out.log");
  EXPECT_TRUE(api.autostart);
  EXPECT_EQ(apps[1].name, "jobs");
  EXPECT_FALSE(apps[1].autostart) << "an app PM2 had stopped must not start";
}

TEST(Pm2Dump, ModulesAreNotApps) {
  json module = pm2_entry("pm2-logrotate", "online");
  module["pmx_module"] = true;
  EXPECT_TRUE(pm2_dump_as_ecosystem(json::array({module}))["apps"].empty());
}

AppSpec running_app() {
  return app_from_script("apps/server.js", {{"name", "web"}, {"node_args", "--inspect"}, {"kill_timeout", "5000"}},
                         shell_in(corpus_dir()))
      .apps.at(0);
}

TEST(SpecPatch, TheOptionsGivenReplaceTheAppsTheRestStays) {
  std::vector<Diagnostic> warnings;
  const auto patched = patch_spec(running_app(), {{"interpreter_args", "--max-old-space-size=100"}, {"port", "8080"}},
                                  shell_in(corpus_dir()), warnings);
  EXPECT_EQ(patched.spec.interpreter_args, std::vector<std::string>{"--max-old-space-size=100"});
  EXPECT_EQ(patched.spec.kill_timeout_ms, 5000) << "an option not given changed";
  EXPECT_EQ(patched.spec.port, 8080);
  EXPECT_EQ(patched.declared_env.at("PORT"), "8080");
  EXPECT_EQ(patched.spec.name, "web");
}

TEST(SpecPatch, NameRenamesTheApp) {
  std::vector<Diagnostic> warnings;
  const auto patched = patch_spec(running_app(), {{"name", "web2"}}, shell_in(corpus_dir()), warnings);
  EXPECT_EQ(patched.spec.name, "web2");
  EXPECT_EQ(patched.spec.kill_timeout_ms, 5000);
}

TEST(SpecPatch, NodeArgsNullClearsThem) {
  std::vector<Diagnostic> warnings;
  const auto patched = patch_spec(running_app(), {{"node_args", "null"}}, shell_in(corpus_dir()), warnings);
  EXPECT_TRUE(patched.spec.interpreter_args.empty());
}

TEST(SpecPatch, WhatARestartCannotChangeIsRefusedInOneLine) {
  for (const char* key : {"instances", "exec_mode", "namespace", "cwd", "filter_env"}) {
    std::vector<Diagnostic> warnings;
    const std::string error = error_of([&] {
      patch_spec(running_app(), {{key, "2"}}, shell_in(corpus_dir()), warnings);
    });
    EXPECT_NE(error.find("cannot change"), std::string::npos) << key << ": " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// Every option drove knows is either applied by `restart|reload --<option>` or refused in words;
// the ones refused without a hint are listed here, so that a new option has to be decided on
// (before this test, an option missing from the copy table was parsed and silently dropped).
TEST(SpecPatch, EveryOptionIsAppliedOrRefusedNeverDropped) {
  const std::set<std::string> refused_plainly = {};
  std::set<std::string> actual;
  for (const auto& canonical : canonical_option_names()) {
    if (patch_coverage(canonical) == PatchCoverage::refused) actual.insert(canonical);
  }
  EXPECT_EQ(actual, refused_plainly);
  for (const auto& canonical : refused_plainly) {
    std::vector<Diagnostic> warnings;
    const std::string error = error_of([&] {
      patch_spec(running_app(), {{canonical, "1"}}, shell_in(corpus_dir()), warnings);
    });
    EXPECT_NE(error.find("cannot change '" + canonical + "'"), std::string::npos) << canonical << ": " << error;
  }
}

TEST(SpecPatch, ABadValueIsTheLoadersError) {
  std::vector<Diagnostic> warnings;
  const std::string error = error_of([&] {
    patch_spec(running_app(), {{"kill_timeout", "soon"}}, shell_in(corpus_dir()), warnings);
  });
  EXPECT_NE(error.find("kill_timeout"), std::string::npos) << error;
}

}  // namespace
}  // namespace drove::config
