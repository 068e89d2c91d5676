// App: the instances started from one AppSpec, under one name.
#pragma once

#include <vector>

#include "config/app_spec.hpp"
#include "supervisor/instance.hpp"

namespace drove::supervisor {

struct App {
  AppSpec spec;
  std::vector<Instance*> instances;  // ordered by index; owned by the Supervisor

  [[nodiscard]] RestartPolicy restart_policy() const {
    return {spec.autorestart, spec.min_uptime_ms, spec.max_restarts, spec.restart_delay_ms,
            spec.exp_backoff_restart_delay_ms, spec.stop_exit_codes};
  }
};

}  // namespace drove::supervisor
