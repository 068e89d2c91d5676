// The engine uses the public type (include/drove/unique_fd.hpp): one owner of fds everywhere.
#pragma once

#include "drove/unique_fd.hpp"  // IWYU pragma: export
