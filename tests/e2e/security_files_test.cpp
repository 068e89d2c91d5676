// Issue #11, files and identity: as root, with the real unprivileged user `nobody` as the
// attacker. Debian's fs.protected_symlinks only guards sticky world-writable directories, so
// each attack is staged in a directory OWNED BY nobody (0755, not sticky), where the kernel does
// not help and only drove's own care protects the root-owned victim file (0600, known content).
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "harness.hpp"

namespace drove::e2e {
namespace {

namespace fs = std::filesystem;

const char* const kVictimText = "victim: root's own data\n";

class SecurityFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: drove runs apps as 'nobody' and stages attacks as that user";
    const passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr) GTEST_SKIP() << "no 'nobody' user on this machine";
    nobody_ = *pw;
    char tmpl[] = "/tmp/drove-secfiles-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    ::chmod(base_.c_str(), 0755);
    attacker_ = base_ + "/attacker";
    ::mkdir(attacker_.c_str(), 0755);
    ASSERT_EQ(::chown(attacker_.c_str(), nobody_.pw_uid, nobody_.pw_gid), 0);
    victim_ = base_ + "/victim";
    write_file(victim_, kVictimText);
    ::chmod(victim_.c_str(), 0600);
    // An app any user can run: prints its environment, then waits.
    app_ = base_ + "/app.sh";
    write_file(app_, "#!/bin/sh\necho started\nenv\nexec sleep 1000\n", true);
  }
  void TearDown() override {
    if (!base_.empty()) fs::remove_all(base_);
  }

  // A symlink as if `nobody` had planted it.
  void plant(const std::string& target, const std::string& link) const {
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    ASSERT_EQ(::lchown(link.c_str(), nobody_.pw_uid, nobody_.pw_gid), 0);
  }

  void expect_victim_untouched() const {
    EXPECT_EQ(read_file(victim_), kVictimText);
    struct stat st {};
    ASSERT_EQ(::stat(victim_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
  }

  // Waits until describe reports output dropped for `name` (its log could not be opened).
  static bool wait_dropped(const DroveHome& home, const std::string& name) {
    return wait_until([&] { return home.drove({"describe", name}).out.find("DROPPED") != std::string::npos; });
  }

  passwd nobody_{};
  std::string base_, attacker_, victim_, app_;
};

TEST_F(SecurityFiles, OutAndErrorFileSymlinkedToVictimLeaveItUntouchedAndTheAppRuns) {
  DroveHome home;
  plant(victim_, attacker_ + "/out.log");
  plant(victim_, attacker_ + "/err.log");
  auto r = home.drove({"start", app_, "--name", "sym", "--uid", "nobody", "--cwd", "/", "-o", attacker_ + "/out.log",
                       "-e", attacker_ + "/err.log"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid = home.wait_online("sym", 1).at(0);
  ASSERT_TRUE(wait_dropped(home, "sym"));
  EXPECT_TRUE(pid_alive(pid));
  expect_victim_untouched();
  EXPECT_TRUE(fs::is_symlink(attacker_ + "/out.log"));
}

TEST_F(SecurityFiles, PidFileAndItsTempNameSymlinkedToVictimLeaveItUntouched) {
  DroveHome home;
  plant(victim_, attacker_ + "/app.pid");
  plant(victim_, attacker_ + "/app.pid.tmp");
  const std::string eco = base_ + "/ecosystem.json";
  write_file(eco, "{\"apps\": [{\"name\": \"pidapp\", \"script\": \"" + app_ +
                      "\", \"uid\": \"nobody\", \"cwd\": \"/\", " + "\"out_file\": \"" + attacker_ +
                      "/out.log\", \"pid_file\": \"" + attacker_ + "/app.pid\"}]}\n");
  auto r = home.drove({"start", eco});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid = home.wait_online("pidapp", 1).at(0);
  // The pid file replaces the planted link (rename), written by nobody, never through it.
  ASSERT_TRUE(wait_until([&] {
    return !fs::is_symlink(attacker_ + "/app.pid") && read_file(attacker_ + "/app.pid") == std::to_string(pid);
  }));
  struct stat st {};
  ASSERT_EQ(::stat((attacker_ + "/app.pid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_.pw_uid);
  expect_victim_untouched();
}

TEST_F(SecurityFiles, FlushTruncatesTheOpenLogNeverASwappedInSymlink) {
  DroveHome home;
  const std::string log = attacker_ + "/out.log";
  auto r = home.drove({"start", app_, "--name", "fl", "--uid", "nobody", "--cwd", "/", "-o", log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("fl", 1);
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("started") != std::string::npos; }));
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody_.pw_uid);  // made with the app's rights

  // The attacker moves the real log away and puts a link to the victim at its name.
  ASSERT_EQ(::rename(log.c_str(), (log + ".real").c_str()), 0);
  plant(victim_, log);
  EXPECT_EQ(home.drove({"flush", "fl"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return ::stat((log + ".real").c_str(), &st) == 0 && st.st_size == 0; }));
  expect_victim_untouched();

  // Once no instance has the file open, flush goes by path: the link is refused, not followed.
  ASSERT_EQ(home.drove({"stop", "fl"}).exit_code, 0);
  auto flushed = home.drove({"flush", "fl"});
  EXPECT_NE(flushed.exit_code, 0);
  EXPECT_NE(flushed.err.find("symlink"), std::string::npos) << flushed.err;
  expect_victim_untouched();
}

TEST_F(SecurityFiles, SymlinkedLogDirectoryGetsNothingCreatedInItsTarget) {
  DroveHome home;
  const std::string target = base_ + "/rootdir";
  ::mkdir(target.c_str(), 0700);
  plant(target, attacker_ + "/logs");
  // A root app (no uid) whose log directory sits in nobody's directory: root's own walk must
  // not follow nobody's link.
  auto r = home.drove({"start", app_, "--name", "dir", "--cwd", "/", "-o", attacker_ + "/logs/out.log", "-e",
                       attacker_ + "/logs/deeper/err.log"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t pid = home.wait_online("dir", 1).at(0);
  ASSERT_TRUE(wait_dropped(home, "dir"));
  EXPECT_TRUE(pid_alive(pid));
  EXPECT_TRUE(fs::is_empty(target));
  EXPECT_NE(read_file(home.path() + "/drove.log").find("refusing to follow symlink"), std::string::npos);
}

TEST_F(SecurityFiles, DeviceOutputWithTwoInstancesCreatesNothingInDev) {
  DroveHome home;
  for (const char* leftover : {"/dev/full-0", "/dev/full-1"}) {
    struct stat st {};
    ASSERT_NE(::lstat(leftover, &st), 0) << leftover << " exists before the test";
  }
  // Per-instance files (merge_logs off), as in cluster mode: "-<id>" would be added to a file.
  const std::string eco = base_ + "/dev.json";
  write_file(eco, "{\"apps\": [{\"name\": \"dev\", \"script\": \"" + app_ + "\", \"cwd\": \"/\", \"instances\": 2, " +
                      "\"merge_logs\": false, \"out_file\": \"/dev/full\", \"error_file\": \"/dev/null\"}]}\n");
  auto r = home.drove({"start", eco});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("dev", 2);
  ASSERT_TRUE(wait_dropped(home, "dev"));  // writes reached /dev/full itself (ENOSPC)
  bool created = false;
  for (const char* leftover : {"/dev/full-0", "/dev/full-1"}) {
    struct stat st {};
    if (::lstat(leftover, &st) == 0 && S_ISREG(st.st_mode)) {
      created = true;
      ::unlink(leftover);  // only a regular file this test's daemon made
    }
  }
  EXPECT_FALSE(created);
  for (const auto& p : home.processes("dev")) EXPECT_EQ(p["pm2_env"].value("pm_out_log_path", ""), "/dev/full");
}

TEST_F(SecurityFiles, UidAppGetsItsUsersIdentityAndNoneOfTheCallersSecrets) {
  DroveHome home;
  const std::string log = attacker_ + "/env.log";
  auto r = home.drove({"start", app_, "--name", "who", "--uid", "nobody", "--cwd", "/", "-o", log},
                      {{"DROVE_TEST_SECRET", "x"}, {"LANG", "C.UTF-8"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("who", 1);
  ASSERT_TRUE(wait_until([&] { return read_file(log).find("pm_id=") != std::string::npos; }));
  std::map<std::string, std::string> env;
  std::istringstream in(read_file(log));
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  EXPECT_EQ(env["HOME"], nobody_.pw_dir);
  EXPECT_EQ(env["USER"], "nobody");
  EXPECT_EQ(env["LOGNAME"], "nobody");
  EXPECT_EQ(env["SHELL"], nobody_.pw_shell);
  EXPECT_EQ(env.count("DROVE_TEST_SECRET"), 0u);
  EXPECT_EQ(env.count("DROVE_HOME"), 0u);
  EXPECT_EQ(env["LANG"], "C.UTF-8");  // on the documented allow-list
  EXPECT_FALSE(env["PATH"].empty());
  // And jlist does not show the caller's variables for it either.
  const auto shown = home.processes("who").at(0)["pm2_env"]["env"];
  EXPECT_FALSE(shown.contains("DROVE_TEST_SECRET"));

  // The same caller's app without uid keeps PM2's behaviour: the caller's environment.
  r = home.drove({"start", "/bin/sleep", "--name", "mine", "--", "1000"}, {{"DROVE_TEST_SECRET", "x"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(home.processes("mine").at(0)["pm2_env"]["env"].value("DROVE_TEST_SECRET", ""), "x");
}

TEST(SecurityMask, JlistMaskSecretsHidesTokenValuesOnlyWhenAsked) {
  DroveHome home;
  auto r = home.drove({"start", "/bin/sleep", "--name", "masked", "--", "1000"},
                      {{"API_TOKEN", "tok-123"}, {"DB_PASSWORD", "pw"}, {"PLAIN_SETTING", "visible"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  home.wait_online("masked", 1);
  auto env_of = [&](const std::vector<std::string>& args, const std::map<std::string, std::string>& extra) {
    auto listed = home.drove(args, extra);
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    for (const auto& p : nlohmann::json::parse(listed.out)) {
      if (p.value("name", "") == "masked") return p["pm2_env"]["env"];
    }
    return nlohmann::json::object();
  };
  auto plain = env_of({"jlist"}, {});
  EXPECT_EQ(plain.value("API_TOKEN", ""), "tok-123");
  EXPECT_EQ(plain.value("DB_PASSWORD", ""), "pw");
  auto masked = env_of({"jlist", "--mask-secrets"}, {});
  EXPECT_EQ(masked.value("API_TOKEN", ""), "[hidden]");
  EXPECT_EQ(masked.value("DB_PASSWORD", ""), "[hidden]");
  EXPECT_EQ(masked.value("PLAIN_SETTING", ""), "visible");
  auto by_env = env_of({"jlist"}, {{"DROVE_MASK_SECRETS", "1"}});
  EXPECT_EQ(by_env.value("API_TOKEN", ""), "[hidden]");
  auto custom = env_of({"jlist", "--mask-secrets"}, {{"DROVE_SECRET_PATTERNS", "PLAIN_*"}});
  EXPECT_EQ(custom.value("PLAIN_SETTING", ""), "[hidden]");
  EXPECT_EQ(custom.value("API_TOKEN", ""), "tok-123");
}

}  // namespace
}  // namespace drove::e2e
