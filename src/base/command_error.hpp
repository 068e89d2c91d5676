// The engine's typed errors for control commands: what went wrong as a kind (an enum the code
// can test), and for whom it is written (the message). The daemon maps each kind to the code
// its control protocol puts on the wire (docs/rpc.md, "Error codes"): one table, here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.hpp"

namespace drove {

enum class ErrorCode : std::uint8_t {
  invalid,          // EINVAL: bad parameters, or a spec the daemon's validator refuses
  not_found,        // ENOTFOUND: unknown target
  exists,           // EEXIST: name taken, or a name whose log files another app uses
  too_big,          // E2BIG: beyond an instance cap, or a request line beyond the limit
  busy,             // EBUSY: a reload of that app is running
  reload_aborted,   // ERELOAD: a reload was aborted; the old processes still serve
  timed_out,        // ETIMEDOUT: --wait-ready gave up waiting (the process keeps running)
  io,               // EIO: a system call failed (its errno is in the message)
  not_running,      // ENOTRUNNING: a signal for a process that is not running
  no_such_process,  // ESRCH: a write to the stdin of a process that is not running
  no_channel,       // ENOCHANNEL: a message for a process without an IPC channel
  no_stdin,         // ENOSTDIN: a write to the stdin of a cluster worker
  protocol,         // EPROTO: a malformed request
  no_method,        // ENOSYS: an unknown method
  internal,         // EINTERNAL: a bug, contained
};

inline constexpr std::array<std::pair<ErrorCode, std::string_view>, 15> kErrorCodeNames{{
    {ErrorCode::invalid, "EINVAL"},
    {ErrorCode::not_found, "ENOTFOUND"},
    {ErrorCode::exists, "EEXIST"},
    {ErrorCode::too_big, "E2BIG"},
    {ErrorCode::busy, "EBUSY"},
    {ErrorCode::reload_aborted, "ERELOAD"},
    {ErrorCode::timed_out, "ETIMEDOUT"},
    {ErrorCode::io, "EIO"},
    {ErrorCode::not_running, "ENOTRUNNING"},
    {ErrorCode::no_such_process, "ESRCH"},
    {ErrorCode::no_channel, "ENOCHANNEL"},
    {ErrorCode::no_stdin, "ENOSTDIN"},
    {ErrorCode::protocol, "EPROTO"},
    {ErrorCode::no_method, "ENOSYS"},
    {ErrorCode::internal, "EINTERNAL"},
}};

// The code on the wire ("EINVAL", ...).
constexpr std::string_view wire_name(ErrorCode code) {
  for (const auto& [c, name] : kErrorCodeNames) {
    if (c == code) return name;
  }
  return "EINTERNAL";
}

struct CommandError {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

template <class T>
using CommandResult = Result<T, CommandError>;
using CommandStatus = Result<Ok, CommandError>;

}  // namespace drove
