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
};

struct DaemonEntry {
  std::function<int(const DaemonRequest& request)> run;
};

int run(int argc, char** argv, const DaemonEntry& daemon);

}  // namespace drove::cli
