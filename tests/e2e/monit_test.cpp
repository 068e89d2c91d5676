// `drove monit` in a real terminal: tmux (a private server) runs it, capture-pane reads the
// screen, send-keys types. The screen shows the apps with their pids, a key restarts one, and q
// or SIGTERM leave a clean terminal (the dashboard's screen gone, the shell's back).
#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace drove::e2e {
namespace {

class Tmux {
 public:
  explicit Tmux(const DroveHome& home) : socket_("drove-monit-test-" + std::to_string(::getpid())), home_(home) {}
  ~Tmux() { run({"kill-server"}); }  // ends every process the session started
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;

  RunResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"/usr/bin/tmux", "-L", socket_});
    return run_program(args);
  }
  // A 120x30 terminal running `drove monit`, then telling how it ended and waiting.
  void start_monit() const {
    const std::string command = "env DROVE_HOME=" + home_.path() + " LANG=C.UTF-8 TERM=xterm-256color " + DROVE_BIN +
                                " monit; echo \"EXITED $?\"; exec cat";
    ASSERT_EQ(run({"new-session", "-d", "-s", "monit", "-x", "120", "-y", "30", command}).exit_code, 0);
  }
  [[nodiscard]] std::string screen() const { return run({"capture-pane", "-p", "-t", "monit"}).out; }
  void keys(const std::string& keys) const { ASSERT_EQ(run({"send-keys", "-t", "monit", keys}).exit_code, 0); }
  // The pane's shell, whose child is drove monit.
  [[nodiscard]] pid_t monit_pid() const {
    const pid_t shell = std::stoi(run({"display-message", "-p", "-t", "monit", "#{pane_pid}"}).out);
    std::istringstream children(
        read_file("/proc/" + std::to_string(shell) + "/task/" + std::to_string(shell) + "/children"));
    pid_t child = 0;
    children >> child;
    return child;
  }

 private:
  std::string socket_;
  const DroveHome& home_;
};

bool has_tmux() { return ::access("/usr/bin/tmux", X_OK) == 0; }

TEST(Monit, ShowsTheAppsRestartsOneByKeyAndLeavesACleanTerminal) {
  if (!has_tmux()) GTEST_SKIP() << "tmux not installed (scripts/setup.sh installs it)";
  DroveHome home;
  write_file(home.scratch() + "/ticker.sh",
             "#!/bin/sh\nn=0\nwhile true; do n=$((n+1)); echo \"tick $n\"; sleep 0.1; done\n", true);
  ASSERT_EQ(home.drove({"start", home.scratch() + "/ticker.sh", "--name", "ticker", "-i", "2"}).exit_code, 0);
  const auto pids = home.wait_online("ticker", 2);

  Tmux tmux(home);
  tmux.start_monit();
  // The list with both instances and their pids, the selected one's details and live logs.
  ASSERT_TRUE(wait_until([&] {
    const std::string s = tmux.screen();
    return s.find("drove monit | 2 process(es)") != std::string::npos &&
           s.find("pid " + std::to_string(pids[0])) != std::string::npos && s.find("tick ") != std::string::npos;
  })) << tmux.screen();
  EXPECT_NE(tmux.screen().find("online"), std::string::npos);

  // r restarts the selected instance (the first, id 0).
  tmux.keys("r");
  ASSERT_TRUE(wait_until([&] { return tmux.screen().find("restart 0 (ticker): done") != std::string::npos; }))
      << tmux.screen();
  const auto after = home.wait_online("ticker", 2);
  EXPECT_NE(after[0], pids[0]);
  EXPECT_EQ(after[1], pids[1]);
  // The screen follows: the new pid shows.
  ASSERT_TRUE(wait_until([&] { return tmux.screen().find("pid " + std::to_string(after[0])) != std::string::npos; }))
      << tmux.screen();

  // q: exit 0, the dashboard's screen is gone (ncurses restored the terminal).
  tmux.keys("q");
  ASSERT_TRUE(wait_until([&] { return tmux.screen().find("EXITED 0") != std::string::npos; })) << tmux.screen();
  EXPECT_EQ(tmux.screen().find("drove monit |"), std::string::npos) << tmux.screen();
}

// An app's own metrics (PM2's @pm2/io), shown under the selected instance as PM2's monit does.
TEST(Monit, ShowsTheSelectedAppsPm2IoMetrics) {
  if (!has_tmux()) GTEST_SKIP() << "tmux not installed (scripts/setup.sh installs it)";
  DroveHome home;
  home.start_pm2io_app("io");
  if (::testing::Test::HasFailure()) return;
  Tmux tmux(home);
  tmux.start_monit();
  ASSERT_TRUE(wait_until([&] {
    const std::string s = tmux.screen();
    return s.find("queue depth: 42 jobs") != std::string::npos && s.find("handled: 3") != std::string::npos;
  })) << tmux.screen();
  tmux.keys("q");
  ASSERT_TRUE(wait_until([&] { return tmux.screen().find("EXITED 0") != std::string::npos; })) << tmux.screen();
}

TEST(Monit, SigtermEndsItWithTheTerminalRestored) {
  if (!has_tmux()) GTEST_SKIP() << "tmux not installed (scripts/setup.sh installs it)";
  DroveHome home;
  ASSERT_EQ(home.drove({"ping"}).exit_code, 0);
  Tmux tmux(home);
  tmux.start_monit();
  ASSERT_TRUE(wait_until([&] { return tmux.screen().find("drove monit | 0 process(es)") != std::string::npos; }))
      << tmux.screen();
  const pid_t monit = tmux.monit_pid();
  ASSERT_GT(monit, 0);
  ASSERT_EQ(::kill(monit, SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return tmux.screen().find("EXITED 0") != std::string::npos; })) << tmux.screen();
  EXPECT_EQ(tmux.screen().find("drove monit |"), std::string::npos) << tmux.screen();
}

TEST(Monit, RefusesToRunWithoutATerminal) {
  DroveHome home;
  auto r = home.drove({"monit"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("drove monit needs a terminal"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace drove::e2e
