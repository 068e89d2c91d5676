// drove::Result<T>, drove::Status, drove::SysError — the error model of the public API: an
// operation returns a value or a SysError (positive errno plus what was being done). No
// exceptions are thrown by the library, and none may cross the event loop from a callback.
#pragma once

#include "base/result.hpp"  // IWYU pragma: export
