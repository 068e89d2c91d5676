// Ecosystem files through the real CLI and daemon.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace drove::e2e {
namespace {

nlohmann::json env_seen(const std::string& path) {
  if (!wait_until([&] { return !read_file(path).empty(); })) return nlohmann::json::object();
  return nlohmann::json::parse(read_file(path), nullptr, false);
}

TEST(Ecosystem, JsFileWithEnvProductionThenRestartUpdateEnv) {
  DroveHome home;
  const std::string out = home.scratch() + "/env.json";
  std::map<std::string, std::string> env = {{"ENV_OUT", out}, {"ECO_VALUE", "v1"}};
  auto r = home.drove({"start", fixture("apps/env_eco.config.js"), "--env", "production", "--only", "eco"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(env_seen(out).value("GREETING", ""), "production v1");

  // The file's computed value changes; restart --update-env picks it up.
  ::unlink(out.c_str());
  env["ECO_VALUE"] = "v2";
  r = home.drove({"restart", fixture("apps/env_eco.config.js"), "--env", "production", "--only", "eco", "--update-env"},
                 env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(env_seen(out).value("GREETING", ""), "production v2");

  // Without --update-env a restart keeps the environment captured at start.
  ::unlink(out.c_str());
  env["ECO_VALUE"] = "v3";
  r = home.drove({"restart", "eco"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(env_seen(out).value("GREETING", ""), "production v2");
}

TEST(Ecosystem, IncrementVarGivesEachInstanceItsPort) {
  DroveHome home;
  const std::string out = home.scratch() + "/env.json";
  auto r = home.drove({"start", fixture("apps/env_eco.config.js"), "--only", "ports"}, {{"ENV_OUT", out}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(env_seen(out + ".ports." + std::to_string(i)).value("PORT", ""), std::to_string(3000 + i)) << i;
  }
}

TEST(Ecosystem, BadFileIsOneLineErrorWithLineAndNothingStarts) {
  DroveHome home;
  const std::string path = home.scratch() + "/ecosystem.json";
  write_file(path, "{\n  \"apps\": [\n    {\"name\": \"a\", \"script\": \"" + fixture("apps/worker.py") +
                       "\", \"instances\": \"abc\"}\n  ]\n}\n");
  auto r = home.drove({"start", path});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("ecosystem.json:3"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(home.jlist().empty());
  // Unknown keys warn (with a suggestion) and the app still starts.
  write_file(path,
             "{\"apps\": [{\"name\": \"a\", \"script\": \"" + fixture("apps/worker.py") + "\", \"instance\": 2}]}\n");
  r = home.drove({"start", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("did you mean 'instances'"), std::string::npos) << r.err;
}

TEST(Ecosystem, InitWritesASampleThatStarts) {
  DroveHome home;
  const std::string path = home.scratch() + "/ecosystem.config.js";
  auto r = run_program({DROVE_BIN, "init", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(path).find("module.exports"), std::string::npos);
  r = run_program({DROVE_BIN, "init", path});
  EXPECT_NE(r.exit_code, 0);  // never overwrites
}

}  // namespace
}  // namespace drove::e2e
