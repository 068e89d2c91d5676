// drove::UniqueFd — the move-only owner of a file descriptor, as the public API hands them out
// (received fds, accepted connections). It is the engine's own type, re-exported here so that
// library users include only <drove/...> headers.
#pragma once

#include "base/unique_fd.hpp"  // IWYU pragma: export
