// The supervisor's typed events as the control socket's `events` topic carries them
// (docs/rpc.md, "subscribe"): {"event": "<kind>", "id", "name", "pid", "at", ...its fields}.
#pragma once

#include <nlohmann/json.hpp>

#include "supervisor/events.hpp"

namespace drove::daemon {

nlohmann::json event_json(const supervisor::Event& event);

}  // namespace drove::daemon
