// The one binary: the CLI, which is also the daemon when run as `drove daemon`.
#include "cli/cli.hpp"
#include "daemon/daemon.hpp"

int main(int argc, char** argv) {
  const drove::cli::DaemonEntry daemon{[](const drove::HomeLayout& home, bool background, bool resurrect) {
    return drove::daemon::run_daemon({.home = home, .background = background, .resurrect = resurrect});
  }};
  return drove::cli::run(argc, argv, daemon);
}
