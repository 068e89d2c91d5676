// drove::Result<T>, drove::Status, drove::SysError — the error model of the public API: an
// operation returns a value or a SysError (positive errno plus what was being done). No
// exceptions are thrown by the library, and none may cross the event loop from a callback.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace drove {

struct SysError {
  int code = 0;         // errno value (positive)
  std::string context;  // what was being done, e.g. "bind 127.0.0.1:3000"

  [[nodiscard]] std::string message() const {
    if (context.empty()) return std::strerror(code);
    return context + ": " + std::strerror(code);
  }
};

// Captures errno right after a failed call.
inline SysError last_error(std::string context) { return SysError{errno, std::move(context)}; }

// A value, or an error of type E: SysError for system calls (the public API's only kind), the
// engine's typed errors elsewhere (e.g. a control command's CommandError). One model: what can
// fail returns a Result, and the caller tests ok() before taking value() or error().
template <class T, class E = SysError>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  [[nodiscard]] const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// Result of an operation with no value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace drove
