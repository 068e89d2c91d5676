// The engine uses the public error model (include/drove/result.hpp).
#pragma once

#include "drove/result.hpp"  // IWYU pragma: export
