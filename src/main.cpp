// The one binary: the CLI, which is also the daemon when run as `drove daemon` or `drove runtime`
// (and as `drove-runtime`, a link to it).
#include "cli/cli.hpp"
#include "daemon/daemon.hpp"

namespace {

drove::daemon::LineStyle line_style(drove::cli::RuntimeRequest::Style style) {
  switch (style) {
    case drove::cli::RuntimeRequest::Style::prefixed:
      return drove::daemon::LineStyle::prefixed;
    case drove::cli::RuntimeRequest::Style::json:
      return drove::daemon::LineStyle::json;
    case drove::cli::RuntimeRequest::Style::raw:
      break;
  }
  return drove::daemon::LineStyle::raw;
}

}  // namespace

int main(int argc, char** argv) {
  const drove::cli::DaemonEntry daemon{[](const drove::cli::DaemonRequest& request) {
    drove::daemon::DaemonOptions options{.home = request.home,
                                         .background = request.background,
                                         .resurrect = request.resurrect,
                                         .runtime = {},
                                         .keeper = request.keeper,
                                         .no_keeper = request.no_keeper,
                                         .keeper_fd = request.keeper_fd,
                                         .check_state = request.check_state};
    if (request.runtime) {
      options.runtime = drove::daemon::RuntimeOptions{.start_args = request.runtime->start_args,
                                                      .style = line_style(request.runtime->style),
                                                      .auto_exit = request.runtime->auto_exit};
    }
    return drove::daemon::run_daemon(options);
  }};
  return drove::cli::run(argc, argv, daemon);
}
