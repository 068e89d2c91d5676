// The drove command line: PM2's verbs and flags, parsed with CLI11, executed over the RPC.
#pragma once

namespace drove::cli {

int run(int argc, char** argv);

}  // namespace drove::cli
