// drove's `listen` option: the sockets the daemon holds for a cluster app in any language.
// Each entry is a port (3000, "3000"), "host:port" ("127.0.0.1:3000", "[::1]:3000"), a unix
// socket path ("/run/app.sock", "./app.sock"), or an object {address, port, name}.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "config/app_spec.hpp"

namespace drove::config {

// One entry; relative unix paths resolve from `cwd`. nullopt when it is none of the forms.
std::optional<ListenSpec> parse_listen_entry(const nlohmann::json& entry, const std::string& cwd);

}  // namespace drove::config
