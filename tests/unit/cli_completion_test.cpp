// `drove completion`: the scripts are written from the CLI11 app, so what they offer is what the
// parser accepts: visible commands and their aliases, each command's visible flags (those that
// take a value told apart), and what positional arguments name; hidden ones are never offered.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "cli/completion.hpp"

using drove::cli::CompletionCommand;
using drove::cli::Targets;

namespace {

struct TestCli {
  CLI::App app{"test", "drove"};
  std::vector<std::string> targets;
  std::string name, shell;
  bool flag = false;

  TestCli() {
    auto* stop = app.add_subcommand("stop", "stop apps");
    stop->add_option("targets", targets);
    stop->add_option("-n,--name", name, "app name");
    stop->add_flag("--force", flag, "no grace");
    stop->add_flag("--secret", flag)->group("");
    app.add_subcommand("describe", "about an app")->alias("desc")->add_option("targets", targets);
    app.add_subcommand("completion", "scripts")->add_option("shell", shell);
    app.add_subcommand("ping", "no positionals")->add_flag("--quiet", flag, "say nothing");
    app.add_subcommand("internal", "hidden")->group("");
  }
};

const CompletionCommand& command(const std::vector<CompletionCommand>& commands, const std::string& name) {
  for (const auto& c : commands) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no command " + name);
}

TEST(CliCompletion, ModelHasTheVisibleCommandsFlagsAndWhatPositionalsName) {
  TestCli cli;
  const auto commands = drove::cli::completion_model(cli.app);
  ASSERT_EQ(commands.size(), 4u);  // "internal" is hidden
  const auto& stop = command(commands, "stop");
  EXPECT_EQ(stop.targets, Targets::apps);
  std::vector<std::string> flags, valued;
  for (const auto& f : stop.flags) {
    flags.push_back(f.name);
    if (f.takes_value) valued.push_back(f.name);
  }
  EXPECT_EQ(flags, (std::vector<std::string>{"-h", "--help", "-n", "--name", "--force"}));
  EXPECT_EQ(valued, (std::vector<std::string>{"-n", "--name"}));
  EXPECT_EQ(command(commands, "describe").aliases, std::vector<std::string>{"desc"});
  EXPECT_EQ(command(commands, "completion").words, (std::vector<std::string>{"bash", "zsh"}));
  EXPECT_EQ(command(commands, "ping").targets, Targets::none);
}

TEST(CliCompletion, ScriptsOfferWhatTheModelHoldsAndNothingHidden) {
  TestCli cli;
  const auto commands = drove::cli::completion_model(cli.app);
  const std::string bash = drove::cli::bash_completion(commands);
  EXPECT_NE(bash.find("compgen -W \"stop describe desc completion ping -h --help -v --version\""), std::string::npos)
      << bash;
  EXPECT_NE(bash.find("    describe|desc)\n"), std::string::npos);
  EXPECT_NE(bash.find("valued=\"-n --name\" targets=apps"), std::string::npos);
  EXPECT_NE(bash.find("complete -F _drove drove\n"), std::string::npos);
  const std::string zsh = drove::cli::zsh_completion(commands);
  EXPECT_EQ(zsh.rfind("#compdef drove\n", 0), 0u);
  EXPECT_NE(zsh.find("'--name=[app name]:value:_default'"), std::string::npos) << zsh;
  EXPECT_NE(zsh.find("'1:completion:(bash zsh)'"), std::string::npos);
  for (const auto* script : {&bash, &zsh}) {
    EXPECT_EQ(script->find("internal"), std::string::npos);
    EXPECT_EQ(script->find("--secret"), std::string::npos);
  }
}

}  // namespace
