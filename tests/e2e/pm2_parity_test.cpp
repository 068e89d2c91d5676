// PM2 parity (issue #14): lifecycle, starting and targeting behave as under PM2 7, each case
// written from PM2's behaviour (lib/God.js, lib/API.js) and checked against PM2 where it runs.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "harness.hpp"

namespace drove::e2e {
namespace {

using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

std::set<pid_t> pids_of(const DroveHome& home, const std::string& name) {
  std::set<pid_t> pids;
  for (const auto& p : home.processes(name)) pids.insert(p.value("pid", 0));
  return pids;
}

// A listen_timeout far above anything a start takes, even on a loaded machine: the checks
// below ask "online before listen_timeout passed?" (the old rule made a worker that never
// listens wait for it), not how fast drove is -- speed is measured in bench/.
constexpr const char* kLongListenTimeout = "60000";
constexpr long kWellBelowListenTimeoutMs = 30000;

TEST(Pm2ParityLifecycle, ClusterWorkerThatNeverListensIsOnlineAsSoonAsItRuns) {
  DroveHome home;
  const auto began = Clock::now();
  auto r = home.drove(
      {"start", fixture("apps/queue_worker.js"), "-i", "2", "--name", "queue", "--listen-timeout", kLongListenTimeout});
  const long took = elapsed_ms(began);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(took, kWellBelowListenTimeoutMs) << "start of a worker that never listens waited for listen_timeout";
  const auto procs = home.processes("queue");
  ASSERT_EQ(procs.size(), 2u);
  for (const auto& p : procs) {
    EXPECT_EQ(p["pm2_env"].value("status", ""), "online") << p.dump();
    EXPECT_EQ(p["pm2_env"].value("exec_mode", ""), "cluster_mode");
  }
  EXPECT_EQ(r.err.find("listen_timeout"), std::string::npos) << r.err;
}

TEST(Pm2ParityLifecycle, CrashedWorkerThatNeverListensIsOnlineAgainPromptly) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "-i", "2", "--name", "queue", "--listen-timeout",
                        kLongListenTimeout})
                .exit_code,
            0);
  const auto pids = home.wait_online("queue", 2);
  ASSERT_EQ(pids.size(), 2u);
  const auto began = Clock::now();
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  pid_t replacement = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& p : home.processes("queue")) {
          const pid_t pid = p.value("pid", 0);
          if (pid != pids[0] && pid != pids[1] && pid > 0 && p["pm2_env"].value("status", "") == "online")
            replacement = pid;
        }
        return replacement != 0;
      },
      std::chrono::seconds(15)));
  EXPECT_LT(elapsed_ms(began), kWellBelowListenTimeoutMs) << "the new pid was online only after listen_timeout";
}

// drove's guarantee kept: an app that listens is online (and start returns) only once it
// listens, even when its main script is busy for a while first.
TEST(Pm2ParityLifecycle, WorkerThatListensLateIsServingWhenStartReturns) {
  DroveHome home;
  const int port = free_tcp_port();
  auto r = home.drove({"start", fixture("apps/busy_then_listen.js"), "-i", "2", "--name", "late", "--listen-timeout",
                       kLongListenTimeout},
                      {{"PORT", std::to_string(port)}, {"BUSY_MS", "1500"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool refused = false;
  const std::string body = http_get(port, "/", &refused);
  EXPECT_FALSE(refused) << "the first request right after start was refused";
  EXPECT_NE(body.find("pid "), std::string::npos) << body;
}

TEST(Pm2ParityLifecycle, ReloadReplacesClusterWorkersThatNeverListen) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "-i", "2", "--name", "queue", "--listen-timeout",
                        kLongListenTimeout})
                .exit_code,
            0);
  home.wait_online("queue", 2);
  const auto before = pids_of(home, "queue");
  const auto began = Clock::now();
  auto r = home.drove({"reload", "queue"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(elapsed_ms(began), 2 * kWellBelowListenTimeoutMs);
  const auto procs = home.processes("queue");
  ASSERT_EQ(procs.size(), 2u);
  for (const auto& p : procs) {
    EXPECT_EQ(before.count(p.value("pid", 0)), 0u) << "not replaced: " << p.dump();
    EXPECT_EQ(p["pm2_env"].value("status", ""), "online");
    EXPECT_EQ(p["pm2_env"].value("restart_time", -1), 1);
  }
  for (pid_t pid : before)
    EXPECT_TRUE(wait_until([&] { return !pid_alive(pid); })) << "old worker " << pid << " still runs";
}

// PM2's scale: rmProcs deletes the first (oldest) processes; a new one takes the lowest
// NODE_APP_INSTANCE no process of the app holds (God.injectVariables).
TEST(Pm2ParityLifecycle, ScaleDownRemovesOldestAndScaleUpReusesTheirNumbers) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "-i", "3", "--name", "queue"}).exit_code, 0);
  home.wait_online("queue", 3);
  auto instances = [&] {
    std::map<int, int> by_id;  // pm_id -> NODE_APP_INSTANCE
    for (const auto& p : home.processes("queue"))
      by_id[p.value("pm_id", -1)] = p["pm2_env"].value("NODE_APP_INSTANCE", -1);
    return by_id;
  };
  ASSERT_EQ(instances(), (std::map<int, int>{{0, 0}, {1, 1}, {2, 2}}));
  auto r = home.drove({"scale", "queue", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(instances(), (std::map<int, int>{{1, 1}, {2, 2}})) << "scale down must remove the oldest instance";
  r = home.drove({"scale", "queue", "+1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto after = instances();
  ASSERT_EQ(after.size(), 3u);
  std::set<int> numbers;
  for (const auto& [id, number] : after) numbers.insert(number);
  EXPECT_EQ(numbers, (std::set<int>{0, 1, 2})) << "the new instance must take the freed number 0";
  // The app itself sees it: the new process logs the number it was given.
  home.wait_online("queue", 3);
  for (const auto& p : home.processes("queue")) {
    if (p["pm2_env"].value("NODE_APP_INSTANCE", -1) != 0) continue;
    const std::string expected = "worker 0 pid " + std::to_string(p.value("pid", 0)) + " started";
    const std::string log_path = p["pm2_env"].value("pm_out_log_path", "");
    EXPECT_TRUE(wait_until([&] { return read_file(log_path).find(expected) != std::string::npos; }))
        << read_file(log_path);
  }
}

TEST(Pm2ParityLifecycle, RestartDelayCountsTheRestartWhenItHappens) {
  DroveHome home;
  const std::string marker = home.scratch() + "/starts";
  auto r = home.drove({"start", fixture("apps/crash.sh"), "--name", "crashy", "--restart-delay", "2500"},
                      {{"MARKER", marker}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto starts = [&marker] {
    const std::string text = read_file(marker);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  // Whenever it waits for its delay, the restarts counted are the starts made but the first:
  // the one it waits for is not counted yet. Checked on snapshots taken while no start happened
  // (the same count of starts before and after): a `jlist` may take longer than the delay on a
  // loaded machine, so the snapshot is compared with the starts, not with a moment.
  int checked = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        const int before = starts();
        auto p = home.processes("crashy");
        if (starts() != before || p.empty() || p[0]["pm2_env"].value("status", "") != "waiting restart") return false;
        EXPECT_EQ(p[0]["pm2_env"].value("restart_time", -1), before - 1) << "restarts counted before they happened";
        ++checked;
        return checked >= 2 && before >= 2;
      },
      std::chrono::seconds(60)));
}

// ---- Starting (PM2's _startScript / _startJson) ----

std::string status_of(const nlohmann::json& p) { return p["pm2_env"].value("status", ""); }

TEST(Pm2ParityStart, StartByNameStartsAStoppedAppAndRestartsAnOnlineOne) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q"}).exit_code, 0);
  const pid_t first = home.wait_online("q", 1).at(0);
  auto r = home.drove({"start", "q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto procs = home.processes("q");
  ASSERT_EQ(procs.size(), 1u);
  EXPECT_NE(procs[0].value("pid", 0), first) << "start <name> of an online app must restart it";
  EXPECT_EQ(procs[0]["pm2_env"].value("restart_time", 0), 1);
  ASSERT_EQ(home.drove({"stop", "q"}).exit_code, 0);
  EXPECT_EQ(status_of(home.processes("q").at(0)), "stopped");
  ASSERT_EQ(home.drove({"start", "0"}).exit_code, 0);
  EXPECT_EQ(status_of(home.processes("q").at(0)), "online");
}

// Checked against PM2 7.0.4: `start <script>` of a stopped app restarts it with the options
// given; of an online one it is refused ("Script already launched, add -f ...", exit 1).
TEST(Pm2ParityStart, StartScriptOfAStoppedAppRestartsItWithTheOptionsGiven) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q"}).exit_code, 0);
  home.wait_online("q", 1);
  auto r = home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q", "--kill-timeout", "4321"});
  EXPECT_NE(r.exit_code, 0) << "an online app's script started again without -f";
  EXPECT_NE(r.err.find("-f"), std::string::npos) << r.err;
  ASSERT_EQ(home.drove({"stop", "q"}).exit_code, 0);
  r = home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q", "--kill-timeout", "4321"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto procs = home.processes("q");
  ASSERT_EQ(procs.size(), 1u) << "a second app was added instead of restarting the first";
  EXPECT_EQ(status_of(procs[0]), "online");
  EXPECT_EQ(procs[0]["pm2_env"].value("kill_timeout", 0), 4321) << "the options given were not applied";
}

TEST(Pm2ParityStart, ForceAddsAnotherAppUnderTheSameName) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q"}).exit_code, 0);
  home.wait_online("q", 1);
  auto r = home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q", "-i", "4", "-f"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("q", 5);
  // As PM2 7.0.4: the numbers run on across the name (0 for the first app, 1-4 for the new one).
  std::set<int> numbers;
  for (const auto& p : home.processes("q")) numbers.insert(p["pm2_env"].value("NODE_APP_INSTANCE", -1));
  EXPECT_EQ(numbers, (std::set<int>{0, 1, 2, 3, 4}));
  // One name targets them all.
  ASSERT_EQ(home.drove({"stop", "q"}).exit_code, 0);
  for (const auto& p : home.processes("q")) EXPECT_EQ(status_of(p), "stopped");
}

TEST(Pm2ParityStart, StartRunsAProgramFoundInPath) {
  DroveHome home;
  auto r = home.drove({"start", "sleep", "--", "600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pids = home.wait_online("sleep", 1);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_NE(read_file("/proc/" + std::to_string(pids[0]) + "/cmdline").find("600"), std::string::npos);
}

TEST(Pm2ParityStart, DashXIsTheForkModeSwitch) {
  DroveHome home;
  auto r = home.drove({"start", "-x", fixture("apps/queue_worker.js"), "--name", "q", "-i", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("q", 2);
  for (const auto& p : home.processes("q")) EXPECT_EQ(p["pm2_env"].value("exec_mode", ""), "fork_mode");
}

TEST(Pm2ParityStart, InstancesOneOnANodeScriptIsClusterMode) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q", "-i", "1"}).exit_code, 0);
  home.wait_online("q", 1);
  EXPECT_EQ(home.processes("q").at(0)["pm2_env"].value("exec_mode", ""), "cluster_mode");
}

TEST(Pm2ParityStart, PidFileOption) {
  DroveHome home;
  const std::string pid_file = home.scratch() + "/q.pid";
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q", "-p", pid_file}).exit_code, 0);
  const pid_t pid = home.wait_online("q", 1).at(0);
  EXPECT_TRUE(wait_until([&] { return std::atoi(read_file(pid_file).c_str()) == pid; })) << read_file(pid_file);
}

// ---- Targeting (PM2's _operate / getProcessIdByName) ----

// Runs the CLI from `dir`, so a relative script name resolves as a user's shell would.
struct WorkingDirectory {
  std::string previous = std::filesystem::current_path().string();
  explicit WorkingDirectory(const std::string& dir) { std::filesystem::current_path(dir); }
  ~WorkingDirectory() { std::filesystem::current_path(previous); }
};

TEST(Pm2ParityTargets, ByScriptFileName) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q"}).exit_code, 0);
  ASSERT_EQ(home.drove({"start", fixture("apps/lines.js"), "--name", "other", "--no-autorestart"}).exit_code, 0);
  home.wait_online("q", 1);
  {
    WorkingDirectory in(fixture("apps"));
    auto r = home.drove({"stop", "queue_worker.js"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(status_of(home.processes("q").at(0)), "stopped");
  EXPECT_EQ(status_of(home.processes("other").at(0)), "online") << "only the app of that script stops";
}

TEST(Pm2ParityTargets, RegexOnNames) {
  DroveHome home;
  for (const char* name : {"q-a", "q-b", "other"}) {
    ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", name, "-f"}).exit_code, 0);
  }
  home.wait_online("other", 1);
  auto r = home.drove({"stop", "/^q-/"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status_of(home.processes("q-a").at(0)), "stopped");
  EXPECT_EQ(status_of(home.processes("q-b").at(0)), "stopped");
  EXPECT_EQ(status_of(home.processes("other").at(0)), "online");
  EXPECT_NE(home.drove({"stop", "/^nothing/"}).exit_code, 0);
  EXPECT_NE(home.drove({"stop", "/(/"}).exit_code, 0);
}

TEST(Pm2ParityTargets, ANumberIsAnAppNameFirstThenAnId) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "x"}).exit_code, 0);        // id 0
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "0", "-f"}).exit_code, 0);  // id 1
  home.wait_online("0", 1);
  auto r = home.drove({"stop", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status_of(home.processes("0").at(0)), "stopped");
  EXPECT_EQ(status_of(home.processes("x").at(0)), "online") << "'0' names an app: id 0 must be left alone";
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "455"}).exit_code, 0);
  home.wait_online("455", 1);
  ASSERT_EQ(home.drove({"stop", "455"}).exit_code, 0);
  EXPECT_EQ(status_of(home.processes("455").at(0)), "stopped");
}

TEST(Pm2ParityTargets, AllWithNoAppFails) {
  DroveHome home;
  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);
  EXPECT_NE(home.drove({"restart", "all"}).exit_code, 0);
  EXPECT_NE(home.drove({"stop", "all"}).exit_code, 0);
}

TEST(Pm2ParityTargets, ListSortsByNameOrId) {
  DroveHome home;
  for (const char* name : {"bravo", "alpha", "charlie"}) {
    ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", name, "-f"}).exit_code, 0);
  }
  auto order = [&](const std::string& sort) {
    const std::string out = home.drove({"list", "--sort", sort}).out;
    std::vector<std::pair<size_t, std::string>> at;
    for (const char* name : {"alpha", "bravo", "charlie"}) at.emplace_back(out.find(name), name);
    std::sort(at.begin(), at.end());
    std::string names;
    for (const auto& [_, name] : at) names += name + std::string(" ");
    return names;
  };
  EXPECT_EQ(order("name"), "alpha bravo charlie ");
  EXPECT_EQ(order("name:desc"), "charlie bravo alpha ");
  EXPECT_EQ(order("id"), "bravo alpha charlie ");
  EXPECT_EQ(order("id:desc"), "charlie alpha bravo ");
  EXPECT_NE(home.drove({"list", "--sort", "colour"}).exit_code, 0);
}

// ---- Verbs ----

TEST(Pm2ParityVerbs, SendSignalPidIdEnv) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "q", "-i", "2"}).exit_code, 0);
  const auto pids = home.wait_online("q", 2);
  ASSERT_EQ(pids.size(), 2u);

  auto r = home.drove({"sendSignal", "SIGUSR2", "q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& p : home.processes("q")) {
    const std::string log = p["pm2_env"].value("pm_out_log_path", "");
    const std::string expected = "pid " + std::to_string(p.value("pid", 0)) + " got SIGUSR2";
    EXPECT_TRUE(wait_until([&] { return read_file(log).find(expected) != std::string::npos; })) << read_file(log);
  }
  EXPECT_NE(home.drove({"sendSignal", "SIGNOPE", "q"}).exit_code, 0);

  r = home.drove({"pid", "q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (pid_t pid : pids) EXPECT_NE(r.out.find(std::to_string(pid) + "\n"), std::string::npos) << r.out;
  EXPECT_NE(home.drove({"pid", "nope"}).exit_code, 0);

  r = home.drove({"id", "q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[ 0, 1 ]\n");
  EXPECT_EQ(home.drove({"id", "nope"}).out, "[]\n");

  r = home.drove({"env", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("name: q\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pm_id: 1\n"), std::string::npos) << r.out;
  EXPECT_NE(home.drove({"env", "9"}).exit_code, 0);
}

// jlist as PM2 shapes it: the app's env flattened into pm2_env (PM2's own keys win),
// increment_var per instance as a number, pm_log_path, axm_options.module_name.
TEST(Pm2ParityFiles, JlistFlattensTheEnvAndIncrementsPerInstance) {
  DroveHome home;
  const std::string file = home.scratch() + "/eco.json";
  write_file(file, R"({"apps": [{"name": "inc", "script": "/bin/sleep", "args": "1000", "interpreter": "none",
    "instances": 2, "increment_var": "PORT", "env": {"PORT": 4000, "NODE_ENV": "production", "name": "shadow", "WORKERS": 4, "RATIO": 0.5, "CODE": "007"}}]})");
  ASSERT_EQ(home.drove({"start", file}).exit_code, 0);
  home.wait_online("inc", 2);
  std::map<int, nlohmann::json> by_index;
  for (const auto& p : home.processes("inc")) by_index[p["pm2_env"].value("NODE_APP_INSTANCE", -1)] = p["pm2_env"];
  ASSERT_EQ(by_index.size(), 2u);
  EXPECT_EQ(by_index[0]["PORT"], 4000);
  EXPECT_EQ(by_index[1]["PORT"], 4001);
  EXPECT_EQ(by_index[1]["NODE_ENV"], "production");
  // Numbers stay numbers, as PM2 keeps the file's values (in pm2_env and in pm2_env.env).
  EXPECT_EQ(by_index[1]["WORKERS"], 4);
  EXPECT_EQ(by_index[1]["RATIO"], 0.5);
  EXPECT_EQ(by_index[1]["CODE"], "007");
  EXPECT_EQ(by_index[1]["env"]["WORKERS"], 4);
  EXPECT_EQ(by_index[1]["name"], "inc");
  EXPECT_EQ(by_index[1]["env"]["name"], "shadow");
  EXPECT_EQ(by_index[0]["axm_options"]["module_name"], "inc");
  EXPECT_TRUE(by_index[0].contains("pm_log_path"));
}

// PM2's restart/reload with options (API._operate → _handleAttributeUpdate): the flags given
// replace the app's own options, the rest stays; --node-args=null clears the node arguments;
// what a restart cannot change is refused in one line.
TEST(Pm2ParityStart, RestartAndReloadApplyTheOptionsGiven) {
  DroveHome home;
  auto cmdline_of = [](pid_t pid) {
    std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(text.begin(), text.end(), '\0', ' ');
    return text;
  };
  ASSERT_EQ(
      home.drove({"start", fixture("apps/queue_worker.js"), "--name", "nw", "--node-args=--max-old-space-size=100"})
          .exit_code,
      0);
  auto pids = home.wait_online("nw", 1);
  EXPECT_NE(cmdline_of(pids[0]).find("--max-old-space-size=100"), std::string::npos) << cmdline_of(pids[0]);

  auto r =
      home.drove({"restart", "nw", "--node-args=--max-old-space-size=200", "--kill-timeout", "4321", "--port", "4444"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pids = home.wait_online("nw", 1);
  EXPECT_NE(cmdline_of(pids[0]).find("--max-old-space-size=200"), std::string::npos) << cmdline_of(pids[0]);
  auto env = home.processes("nw").at(0)["pm2_env"];
  EXPECT_EQ(env.value("kill_timeout", 0), 4321);
  EXPECT_EQ(env["env"].value("PORT", ""), "4444");

  r = home.drove({"reload", "nw", "--node-args=null"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  pids = home.wait_online("nw", 1);
  EXPECT_EQ(cmdline_of(pids[0]).find("--max-old-space-size"), std::string::npos) << cmdline_of(pids[0]);
  EXPECT_EQ(home.processes("nw").at(0)["pm2_env"].value("kill_timeout", 0), 4321) << "an option not given was reset";

  r = home.drove({"restart", "nw", "-i", "3"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("scale"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(home.processes("nw").size(), 1u);

  // --name renames it (as PM2 does), its logs follow; --cron-restart takes effect at once.
  r = home.drove({"restart", "nw", "--name", "renamed", "--cron-restart", "*/1 * * * * *"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(home.processes("nw").empty());
  home.wait_online("renamed", 1);
  EXPECT_NE(home.processes("renamed").at(0)["pm2_env"].value("pm_out_log_path", "").find("renamed-out.log"),
            std::string::npos);
  const int restarts = home.processes("renamed").at(0)["pm2_env"].value("restart_time", 0);
  EXPECT_TRUE(wait_until([&] { return home.processes("renamed").at(0)["pm2_env"].value("restart_time", 0) > restarts; },
                         std::chrono::seconds(30)))
      << "the cron given on restart never fired";
}

// PM2's restart/reload of an ecosystem file (API._startJson): the file is read again, the apps
// that exist restart with its options and its variables laid over their environment (env,
// then deploy.<env>.env under env_<env> with --env; what the file no longer names is kept),
// the apps that do not exist start; --update-env lays the caller's shell under the file's.
TEST(Pm2ParityFiles, RestartOrReloadOfAFileReadsItAgainAndStartsWhatIsMissing) {
  DroveHome home;
  const std::string file = home.scratch() + "/eco.json";
  write_file(file, R"({"apps": [{"name": "a", "script": "/bin/sleep", "args": "1000", "interpreter": "none",
    "kill_timeout": 1000, "env": {"A": "1", "KEEP": "x"}, "env_production": {"A": "prod"}}],
    "deploy": {"production": {"env": {"D": "deploy", "A": "deploy-a"}}}})");
  ASSERT_EQ(home.drove({"start", file}).exit_code, 0);
  home.wait_online("a", 1);
  auto env_of = [&home](const std::string& name) { return home.processes(name).at(0)["pm2_env"]["env"]; };
  EXPECT_EQ(env_of("a")["A"], "1");
  EXPECT_FALSE(env_of("a").contains("D")) << "deploy env used without --env";

  write_file(file, R"({"apps": [{"name": "a", "script": "/bin/sleep", "args": "1000", "interpreter": "none",
    "kill_timeout": 2345, "env": {"A": "2"}, "env_production": {"A": "prod"}},
    {"name": "b", "script": "/bin/sleep", "args": "1000", "interpreter": "none"}],
    "deploy": {"production": {"env": {"D": "deploy", "A": "deploy-a"}}}})");
  const pid_t before = home.processes("a").at(0).value("pid", 0);
  auto r = home.drove({"restart", file, "--env", "production"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("a", 1);
  EXPECT_NE(home.processes("a").at(0).value("pid", 0), before) << "not restarted";
  EXPECT_EQ(home.processes("a").at(0)["pm2_env"].value("kill_timeout", 0), 2345)
      << "the file's new options were not applied";
  EXPECT_EQ(env_of("a")["A"], "prod") << "env_production must win over env and deploy env";
  EXPECT_EQ(env_of("a")["D"], "deploy");
  EXPECT_EQ(env_of("a")["KEEP"], "x") << "PM2 merges the file's env into the app's, it does not reset it";
  EXPECT_EQ(home.wait_online("b", 1).size(), 1u) << "the file's new app was not started";

  r = home.drove({"reload", file, "--update-env"}, {{"DROVE_PARITY_SHELL", "from-shell"}, {"A", "shell"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("a", 1);
  EXPECT_EQ(env_of("a")["DROVE_PARITY_SHELL"], "from-shell")
      << "reload --update-env did not apply the caller's environment";
  EXPECT_EQ(env_of("a")["A"], "2") << "the file's env must win over the shell's";
  EXPECT_EQ(env_of("b")["DROVE_PARITY_SHELL"], "from-shell");
}

// Migration from PM2: a dump.pm2 written by PM2 (one pm2_env per process) is resurrected as
// the apps it describes, instances counted per name, stopped apps registered but not started.
TEST(Pm2ParityFiles, ResurrectReadsADumpWrittenByPm2) {
  DroveHome home;
  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);  // the daemon and its home exist
  const std::string cwd = home.scratch();
  auto entry = [&cwd](const std::string& name, const std::string& status, int pm_id) {
    return nlohmann::json{{"name", name},
                          {"pm_exec_path", "/bin/sleep"},
                          {"pm_cwd", cwd},
                          {"exec_interpreter", "none"},
                          {"args", {"1000"}},
                          {"node_args", nlohmann::json::array()},
                          {"exec_mode", "fork_mode"},
                          {"env", {{"FOO", "bar"}, {"unique_id", "x"}}},
                          {"FOO", "bar"},
                          {"status", status},
                          {"pm_id", pm_id},
                          {"restart_time", 3},
                          {"unstable_restarts", 0},
                          {"created_at", 1700000000000},
                          {"pm_uptime", 1700000000000},
                          {"autorestart", true},
                          {"kill_timeout", 2222},
                          {"vizion", true},
                          {"axm_options", nlohmann::json::object()},
                          {"cron_restart", ""},
                          {"namespace", "default"},
                          {"pm_out_log_path", cwd + "/" + name + "-out.log"},
                          {"pm_err_log_path", cwd + "/" + name + "-error.log"}};
  };
  write_file(home.path() + "/dump.pm2",
             nlohmann::json::array({entry("web", "online", 0), entry("web", "online", 1), entry("idle", "stopped", 2)})
                 .dump(2));
  auto r = home.drove({"resurrect"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("PM2"), std::string::npos) << r.out;
  const auto web = home.wait_online("web", 2);
  EXPECT_EQ(web.size(), 2u);
  const auto procs = home.processes("web");
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0]["pm2_env"]["env"]["FOO"], "bar");
  EXPECT_EQ(procs[0]["pm2_env"].value("kill_timeout", 0), 2222);
  EXPECT_EQ(procs[0]["pm2_env"].value("pm_out_log_path", ""), cwd + "/web-out.log");
  const auto idle = home.processes("idle");
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0]["pm2_env"]["status"], "stopped");
}

// PM2 reads apps under "pm2" (a package.json's section) as under "apps".
TEST(Pm2ParityFiles, Pm2KeyIsAnAliasOfApps) {
  DroveHome home;
  const std::string file = home.scratch() + "/package.json";
  write_file(
      file,
      R"({"name": "pkg", "version": "1.0.0", "pm2": [{"name": "fromkey", "script": "/bin/sleep", "args": "1000", "interpreter": "none"}]})");
  auto r = home.drove({"start", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(home.wait_online("fromkey", 1).size(), 1u);
}

// PM2's `send <id> <line>` writes the line to the process's stdin (sendLineToStdin), `attach`
// shows its output and sends it the lines typed; IPC data is `message` (and `trigger`).
TEST(Pm2ParityVerbs, SendWritesToStdinAndAttachForwardsLines) {
  DroveHome home;
  ASSERT_EQ(home.drove({"start", fixture("apps/stdin_echo.sh"), "--name", "echo"}).exit_code, 0);
  home.wait_online("echo", 1);
  const std::string out = home.processes("echo").at(0)["pm2_env"].value("pm_out_log_path", "");
  auto r = home.drove({"send", "echo", "hello", "world"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return read_file(out).find("got: hello world\n") != std::string::npos; }))
      << read_file(out);

  const std::string id = std::to_string(home.processes("echo").at(0)["pm2_env"].value("pm_id", -1));
  auto attached = run_program({DROVE_BIN, "attach", id}, {{"DROVE_HOME", home.path()}}, "first\nsecond\n");
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  ASSERT_TRUE(wait_until([&] { return read_file(out).find("got: second\n") != std::string::npos; })) << read_file(out);
  EXPECT_NE(read_file(out).find("got: first\n"), std::string::npos);
  EXPECT_EQ(read_file(out).find("stdin closed"), std::string::npos) << "the daemon keeps the app's stdin open";

  // A cluster worker reads /dev/null (as Node's cluster.fork under PM2): a clear error.
  ASSERT_EQ(home.drove({"start", fixture("apps/queue_worker.js"), "--name", "cw", "-i", "1"}).exit_code, 0);
  home.wait_online("cw", 1);
  r = home.drove({"send", "cw", "x"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no stdin"), std::string::npos) << r.err;
  r = home.drove({"attach", "echo"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("process id"), std::string::npos) << r.err;
}

// PM2's update: the list saved, a new daemon, the apps back under their names.
TEST(Pm2ParityVerbs, UpdateReplacesTheDaemonAndResurrects) {
  // Without a keeper, `update` is PM2's: save, stop the old daemon and its apps, resurrect.
  DroveHome home;
  ASSERT_EQ(home.drove({"start", "/bin/sleep", "--name", "kept", "-i", "2", "--", "1000"}, {{"DROVE_KEEPER", "off"}})
                .exit_code,
            0);
  const auto before = home.wait_online("kept", 2);
  const auto old_daemon = home.daemon_pid();
  ASSERT_TRUE(old_daemon);
  auto r = home.drove({"update"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("daemon replaced"), std::string::npos) << r.out;
  const auto after = home.wait_online("kept", 2);
  const auto new_daemon = home.daemon_pid();
  ASSERT_TRUE(new_daemon);
  EXPECT_NE(*new_daemon, *old_daemon);
  EXPECT_FALSE(pid_alive(*old_daemon));
  for (pid_t pid : before) EXPECT_FALSE(pid_alive(pid)) << pid;
  EXPECT_EQ(after.size(), 2u);
  // Its alias, with no daemon running: starts one and resurrects the saved list.
  ASSERT_EQ(home.drove({"kill"}).exit_code, 0);
  r = home.drove({"updatePM2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(home.wait_online("kept", 2).size(), 2u);
}

TEST(Pm2ParityVerbs, UpdateUnderAKeeperSavesAndKeepsEveryApp) {
  // With a keeper (the default), the same verb keeps the apps: same pids, and the list saved.
  DroveHome home;
  ASSERT_EQ(home.drove({"start", "/bin/sleep", "--name", "kept", "-i", "2", "--", "1000"}).exit_code, 0);
  const auto before = home.wait_online("kept", 2);
  const auto old_daemon = home.daemon_pid();
  auto r = home.drove({"update"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("saved 1 app(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 of 2 running process(es) kept"), std::string::npos) << r.out;
  EXPECT_NE(home.daemon_pid(), old_daemon);
  EXPECT_EQ(home.wait_online("kept", 2), before);
}

}  // namespace
}  // namespace drove::e2e
