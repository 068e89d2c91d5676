// Provisional: script + CLI options → AppSpec, until the config loader (src/config) lands.
#pragma once

#include <nlohmann/json.hpp>

#include "config/app_spec.hpp"

namespace drove::cli {

AppSpec provisional_app_from_script(const std::string& script, const nlohmann::json& options);

}  // namespace drove::cli
