// The drove command line: PM2's verbs and flags, parsed with CLI11, executed over the RPC.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/home_paths.hpp"

namespace drove::cli {

// `drove daemon` runs the daemon in this process. The CLI knows nothing of it beyond this
// entry point, which the program (src/main.cpp) gives it: the layers cli and daemon are
// siblings, both above the supervisor's, and neither includes the other.
// `drove runtime` / `drove-runtime`: the daemon in the foreground as a container entrypoint.
struct RuntimeRequest {
  enum class Style { raw, prefixed, json };
  std::vector<std::string> start_args;  // for `drove start`, validated by the CLI
  Style style = Style::raw;
  bool auto_exit = true;
};

struct DaemonRequest {
  HomeLayout home;
  bool background = false;
  bool resurrect = false;  // start the saved list once listening (the unit `drove startup` writes)
  std::optional<RuntimeRequest> runtime;
  // Apps outlive the daemon (docs/architecture.md): `keeper` runs a keeper above this daemon
  // (the default for a background daemon; `--no-keeper` turns it off); `keeper_fd` is the link
  // of a daemon the keeper started.
  bool keeper = false;
  bool no_keeper = false;
  int keeper_fd = -1;
  std::string check_state;  // `daemon --check-state FILE`: can this binary take that state over?
};

struct DaemonEntry {
  std::function<int(const DaemonRequest& request)> run;
};

int run(int argc, char** argv, const DaemonEntry& daemon);

}  // namespace drove::cli
