// One test per app option that had no test showing its effect: what PM2 documents the option
// does, observed from outside on a real app. docs/pm2-compatibility.md names these tests and
// OptionTable (unit) checks that every option has one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.hpp"
#include "load.hpp"

namespace drove::e2e {
namespace {

using namespace std::chrono_literals;

nlohmann::json env_of(const std::string& path) {
  if (!wait_until([&] { return !read_file(path).empty(); })) return nlohmann::json::object();
  return nlohmann::json::parse(read_file(path));
}

nlohmann::json first(const DroveHome& home, const std::string& name) {
  auto p = home.processes(name);
  return p.empty() ? nlohmann::json::object() : p[0];
}

std::string status_of(const DroveHome& home, const std::string& name) {
  return first(home, name)["pm2_env"].value("status", "");
}

TEST(OptionEffects, NamePrefixAndAppendEnvToNameShapeTheName) {
  DroveHome home;
  const std::string file = home.scratch() + "/eco.json";
  write_file(file, R"({"apps": [{"name": "api", "script": ")" + fixture("apps/worker.py") +
                       R"(", "name_prefix": "shop", "append_env_to_name": true, "env_staging": {"A": "1"}}]})");
  auto r = home.drove({"start", file, "--env", "staging"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("shop:api-staging", 1);
}

TEST(OptionEffects, ArgsInterpreterAndInterpreterArgsReachTheProcess) {
  DroveHome home;
  const std::string out = home.scratch() + "/argv.json";
  const std::string script = home.scratch() + "/argv.js";
  write_file(script,
             "require('fs').writeFileSync(process.env.OUT, JSON.stringify({argv: process.argv.slice(2), exec: "
             "process.execArgv, cwd: process.cwd()}));\n"
             "setInterval(() => {}, 1 << 30);\n");
  auto r = home.drove({"start", script, "--name", "argv", "--interpreter", "node", "--node-args",
                       "--max-old-space-size=64", "--cwd", "/tmp", "--", "one", "two"},
                      {{"OUT", out}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto seen = env_of(out);
  EXPECT_EQ(seen["argv"], nlohmann::json({"one", "two"}));
  EXPECT_EQ(seen["exec"], nlohmann::json({"--max-old-space-size=64"}));
  EXPECT_EQ(seen.value("cwd", ""), "/tmp");
}

TEST(OptionEffects, InstanceVarAndFilterEnvShapeTheEnvironment) {
  DroveHome home;
  const std::string out = home.scratch() + "/env.json";
  const std::string file = home.scratch() + "/eco.json";
  write_file(file, R"({"apps": [{"name": "envy", "script": ")" + fixture("apps/env_dump.js") +
                       R"(", "instance_var": "WORKER_ID", "filter_env": ["HIDDEN_"]}]})");
  auto r = home.drove({"start", file}, {{"ENV_OUT", out}, {"HIDDEN_TOKEN", "secret"}, {"SHOWN", "yes"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto env = env_of(out);
  EXPECT_EQ(env.value("WORKER_ID", ""), "0");
  EXPECT_FALSE(env.contains("HIDDEN_TOKEN"));
  EXPECT_EQ(env.value("SHOWN", ""), "yes");
}

TEST(OptionEffects, LogFilesTypesAndDatesGoWhereTold) {
  DroveHome home;
  const std::string script = home.scratch() + "/say.js";
  write_file(script, "console.log('to-out'); console.error('to-err'); setInterval(() => {}, 1 << 30);\n");
  const std::string out = home.scratch() + "/o.log", err = home.scratch() + "/e.log", all = home.scratch() + "/all.log";
  auto r = home.drove({"start", script, "--name", "say", "-o", out, "-e", err, "-l", all, "--log-type", "json",
                       "--log-date-format", "YYYY"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] {
    return read_file(all).find("to-err") != std::string::npos && read_file(all).find("to-out") != std::string::npos;
  })) << read_file(all);
  EXPECT_NE(read_file(out).find("to-out"), std::string::npos);
  EXPECT_EQ(read_file(out).find("to-err"), std::string::npos);
  EXPECT_NE(read_file(err).find("to-err"), std::string::npos);
  // json: one object per line, with the date in the format asked for.
  std::istringstream lines(read_file(out));
  std::string line;
  std::getline(lines, line);
  auto entry = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(entry.is_object()) << line;
  EXPECT_EQ(entry.value("type", ""), "out");
  EXPECT_EQ(entry.value("timestamp", "").size(), 4u) << line;
}

TEST(OptionEffects, MergeLogsWritesOneFileForAllInstances) {
  DroveHome home;
  const std::string out = home.scratch() + "/merged.log";
  auto r = home.drove({"start", fixture("apps/worker.py"), "--name", "m", "-i", "2", "--merge-logs", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] {
    const auto text = read_file(out);
    return text.find("instance 0") != std::string::npos && text.find("instance 1") != std::string::npos;
  }));
  EXPECT_FALSE(std::filesystem::exists(home.scratch() + "/merged-0.log"));
}

TEST(OptionEffects, DisableLogsDiscardsOutput) {
  DroveHome home;
  auto r = home.drove({"start", fixture("apps/worker.py"), "--name", "quiet", "--disable-logs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("quiet", 1);
  const std::string out = first(home, "quiet")["pm2_env"].value("pm_out_log_path", "");
  // The worker prints its banner at once; with logs disabled it never reaches the file.
  EXPECT_FALSE(wait_until([&] { return read_file(out).find("worker") != std::string::npos; }, 1500ms)) << out;
}

TEST(OptionEffects, PidFileHoldsThePid) {
  DroveHome home;
  const std::string pid_file = home.scratch() + "/w.pid";
  const std::string file = home.scratch() + "/eco.json";
  write_file(file, R"({"apps": [{"name": "p", "script": ")" + fixture("apps/worker.py") + R"(", "pid_file": ")" +
                       pid_file + R"("}]})");
  ASSERT_EQ(home.drove({"start", file}).exit_code, 0);
  const pid_t pid = home.wait_online("p", 1).at(0);
  ASSERT_TRUE(wait_until([&] { return read_file(pid_file).find(std::to_string(pid)) == 0; })) << read_file(pid_file);
}

TEST(OptionEffects, NoAutorestartLeavesACrashedAppStopped) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  ASSERT_EQ(home.drove({"start", fixture("apps/crash.sh"), "--name", "once", "--no-autorestart"}, {{"MARKER", marker}})
                .exit_code,
            0);
  ASSERT_TRUE(wait_until([&] { return status_of(home, "once") == "stopped"; }));
  EXPECT_FALSE(wait_until([&] { return first(home, "once")["pm2_env"].value("restart_time", 0) != 0; }, 1s));
}

TEST(OptionEffects, NoAutostartRegistersWithoutStarting) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/worker.py"), "--name", "later", "--no-autostart"}).exit_code, 0);
  EXPECT_EQ(status_of(home, "later"), "stopped");
  EXPECT_EQ(first(home, "later").value("pid", -1), 0);
  ASSERT_EQ(home.drove({"start", "later"}).exit_code, 0);
  home.wait_online("later", 1);
}

TEST(OptionEffects, StopExitCodeIsNotRestarted) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  ASSERT_EQ(
      home.drove({"start", fixture("apps/crash.sh"), "--name", "done", "--stop-exit-codes", "3"}, {{"MARKER", marker}})
          .exit_code,
      0);
  ASSERT_TRUE(wait_until([&] { return status_of(home, "done") == "stopped"; }));
  EXPECT_EQ(first(home, "done")["pm2_env"].value("restart_time", -1), 0);
}

TEST(OptionEffects, RestartDelayAndMinUptimeSpaceAndCountRestarts) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  // Each run lasts ~0 ms < min_uptime 5 s: unstable; 3 max restarts then errored, 300 ms apart.
  ASSERT_EQ(home.drove({"start", fixture("apps/crash.sh"), "--name", "slow", "--restart-delay", "300", "--min-uptime",
                        "5s", "--max-restarts", "3"},
                       {{"MARKER", marker}})
                .exit_code,
            0);
  ASSERT_TRUE(wait_until([&] { return status_of(home, "slow") == "errored"; }));
  std::vector<long long> starts;
  std::istringstream lines(read_file(marker));
  for (long long t; lines >> t;) starts.push_back(t);
  ASSERT_GE(starts.size(), 2u);
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 1], 300) << "gap " << i;
}

TEST(OptionEffects, KillSignalIsWhatStopSends) {
  DroveHome home;
  const std::string marker = home.scratch() + "/got";
  const std::string script = home.scratch() + "/trap.sh";
  write_file(script, "#!/bin/sh\ntrap 'echo TERM > \"$MARKER\"; exit 0' TERM\nwhile :; do sleep 0.1; done\n", true);
  ASSERT_EQ(home.drove({"start", script, "--name", "trap", "--kill-signal", "SIGTERM"}, {{"MARKER", marker}}).exit_code,
            0);
  home.wait_online("trap", 1);
  ASSERT_EQ(home.drove({"stop", "trap"}).exit_code, 0);
  EXPECT_NE(read_file(marker).find("TERM"), std::string::npos);
}

TEST(OptionEffects, ShutdownWithMessageSendsShutdownOverIpc) {
  DroveHome home;
  const std::string marker = home.scratch() + "/got";
  const std::string script = home.scratch() + "/msg.js";
  write_file(script,
             "process.on('SIGINT', () => {});\n"
             "process.on('message', (m) => { if (m === 'shutdown') { require('fs').writeFileSync(process.env.MARKER, "
             "m); process.exit(0); } });\n"
             "setInterval(() => {}, 1 << 30);\n");
  ASSERT_EQ(home.drove({"start", script, "--name", "msg", "--shutdown-with-message"}, {{"MARKER", marker}}).exit_code,
            0);
  home.wait_online("msg", 1);
  ASSERT_EQ(home.drove({"stop", "msg"}).exit_code, 0);
  EXPECT_EQ(read_file(marker), "shutdown");

  // PM2_KILL_USE_MESSAGE=true in the caller's environment means the same, as under PM2.
  const std::string marker2 = home.scratch() + "/got2";
  ASSERT_EQ(home.drove({"start", script, "--name", "msg2"}, {{"MARKER", marker2}, {"PM2_KILL_USE_MESSAGE", "true"}})
                .exit_code,
            0);
  home.wait_online("msg2", 1);
  ASSERT_EQ(home.drove({"stop", "msg2"}).exit_code, 0);
  EXPECT_EQ(read_file(marker2), "shutdown");
}

TEST(OptionEffects, NoTreekillSignalsOnlyTheMainProcess) {
  DroveHome home;
  const std::string child_file = home.scratch() + "/child.pid";
  const std::string script = home.scratch() + "/parent.sh";
  // The child ignores nothing: it would die from a group-wide SIGINT, so surviving shows
  // that only the parent was signalled.
  write_file(script, "#!/bin/sh\nsleep 300 &\necho $! > \"$CHILD\"\nwait\n", true);
  ASSERT_EQ(home.drove({"start", script, "--name", "tree", "--no-treekill", "--kill-signal", "SIGTERM"},
                       {{"CHILD", child_file}})
                .exit_code,
            0);
  home.wait_online("tree", 1);
  ASSERT_TRUE(wait_until([&] { return !read_file(child_file).empty(); }));
  const pid_t child = std::stoi(read_file(child_file));
  ASSERT_EQ(home.drove({"stop", "tree"}).exit_code, 0);
  EXPECT_TRUE(pid_alive(child));
  ::kill(child, SIGKILL);  // ours: started by this test's app
  EXPECT_TRUE(wait_until([&] { return !pid_alive(child); }));
}

TEST(OptionEffects, ListenGivesANonNodeClusterAppItsSocket) {
  DroveHome home;
  const int port = free_tcp_port();
  const std::string file = home.scratch() + "/eco.json";
  write_file(file, R"({"apps": [{"name": "act", "script": ")" + fixture("apps/activated_server.py") +
                       R"(", "exec_mode": "cluster", "instances": 1, "listen": "127.0.0.1:)" + std::to_string(port) +
                       R"("}]})");
  auto r = home.drove({"start", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid = home.wait_online("act", 1).at(0);
  std::string body;
  ASSERT_TRUE(wait_until([&] { return http_request(port, "/", &body) == 200; }));
  EXPECT_EQ(body, "pid " + std::to_string(pid) + "\n");
}

TEST(OptionEffects, GidRunsTheAppInThatGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the daemon must be root to change groups";
  DroveHome home;
  const std::string out = home.scratch() + "/gid";
  const std::string script = home.scratch() + "/gid.sh";
  write_file(script, "#!/bin/sh\nid -g > \"$OUT\"\nexec sleep 300\n", true);
  ::chmod(home.scratch().c_str(), 0777);
  ASSERT_EQ(home.drove({"start", script, "--name", "grp", "--gid", "65534"}, {{"OUT", out}}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return !read_file(out).empty(); }));
  EXPECT_EQ(read_file(out), "65534\n");
}

}  // namespace
}  // namespace drove::e2e
