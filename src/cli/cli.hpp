// The drove command line: PM2's verbs and flags, parsed with CLI11, executed over the RPC.
#pragma once

#include <functional>

#include "base/home_paths.hpp"

namespace drove::cli {

// `drove daemon` runs the daemon in this process. The CLI knows nothing of it beyond this
// entry point, which the program (src/main.cpp) gives it: the layers cli and daemon are
// siblings, both above the supervisor's, and neither includes the other.
struct DaemonEntry {
  // `resurrect`: start the saved list once listening (the unit `drove startup` writes).
  std::function<int(const HomeLayout& home, bool background, bool resurrect)> run;
};

int run(int argc, char** argv, const DaemonEntry& daemon);

}  // namespace drove::cli
