// Preparing $DROVE_HOME for the daemon: created 0700, owned by us, writable, with logs/ and
// pids/ inside. The control socket inside it is then reachable by its owner only.
#pragma once

#include "base/home_paths.hpp"
#include "base/result.hpp"

namespace drove::state {

Status prepare_home(const HomeLayout& home);

}  // namespace drove::state
