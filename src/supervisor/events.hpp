// What the supervisor tells the world as it happens: one typed event per fact (a process
// spawned, exited, changed state, ...). The supervisor knows nothing of JSON or subscribers;
// the daemon maps each event to the `events` topic of its control socket (daemon/event_json),
// and the monitors of later rounds (metrics, dashboard) read the same types.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "supervisor/instance.hpp"

namespace drove::supervisor {

namespace events {

struct Spawn {  // a process of the instance started (`incoming`: a reload's replacement)
  pid_t pid = 0;
  bool incoming = false;
};
struct Exit {  // a process of the instance ended
  pid_t pid = 0;
  int code = 0;
  int signal = 0;  // 0: it exited with `code`
  std::int64_t uptime_ms = 0;
};
struct StateChanged {
  InstanceState status = InstanceState::stopped;
};
struct Listening {  // a Node cluster worker's server listens (through the daemon's socket)
  std::optional<std::string> address;
  int port = 0;
};
struct BindError {  // the daemon could not bind what a worker asked for
  std::string key;
  int negative_errno = 0;
};
struct Message {  // an app's own process.send() payload
  nlohmann::json data;
};
struct Restart {  // a restart the supervisor decided (watch, cron, memory, ...)
  std::string reason;
};
struct Deleted {};
struct StartFailed {
  std::string error;
};
struct ReloadFailed {
  std::string error;
};
// An app-level event (Event::id is -1): autoscaling changed the instance count, or was paused
// by a manual `scale`, or resumed; `metric`/`value`/`target` are the signal it decided on.
struct Scaled {
  std::string action;  // "up", "down", "paused", "resumed"
  int from = 0;
  int to = 0;
  std::string metric;
  double value = 0;
  double target = 0;
  std::string reason;
};

}  // namespace events

using EventData = std::variant<events::Spawn, events::Exit, events::StateChanged, events::Listening, events::BindError,
                               events::Message, events::Restart, events::Deleted, events::StartFailed,
                               events::ReloadFailed, events::Scaled>;

struct Event {
  int id = 0;              // the instance (pm_id); -1 for an event of the whole app (Scaled)
  std::string name;        // its app
  pid_t pid = 0;           // its current process, 0 if none
  std::int64_t at_ms = 0;  // wall clock
  EventData data;
};

}  // namespace drove::supervisor
