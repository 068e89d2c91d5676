// The exception barrier at every libuv callback entry that runs daemon logic. An exception that
// unwound into libuv's C frames would terminate the daemon (and with it every app's manager);
// here it is logged, counted and contained, and the loop goes on. The daemon's code does not
// throw on purpose (errors are values, base/result.hpp): this is the net under a bug, e.g. a
// json type_error from a value an app sent.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <utility>

#include "base/log.hpp"

namespace drove {

// How many exceptions the barrier has contained since start (shown by the daemon's `ping`).
inline std::atomic<std::uint64_t>& contained_exceptions() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

template <class Body>
void loop_barrier(const char* where, Body&& body) noexcept {
  try {
    std::forward<Body>(body)();
  } catch (const std::exception& error) {
    contained_exceptions().fetch_add(1, std::memory_order_relaxed);
    try {
      log_error("internal error contained in {}: {}", where, error.what());
    } catch (...) {
    }
  } catch (...) {
    contained_exceptions().fetch_add(1, std::memory_order_relaxed);
    try {
      log_error("internal error contained in {}: unknown exception", where);
    } catch (...) {
    }
  }
}

}  // namespace drove
