#include "supervisor/instance_state.hpp"

namespace drove::supervisor {

const char* to_string(InstanceState state) {
  switch (state) {
    case InstanceState::launching:
      return "launching";
    case InstanceState::online:
      return "online";
    case InstanceState::stopping:
      return "stopping";
    case InstanceState::stopped:
      return "stopped";
    case InstanceState::waiting_restart:
      return "waiting restart";
    case InstanceState::errored:
      return "errored";
  }
  return "unknown";
}

const char* to_string(InstanceEvent event) {
  switch (event) {
    case InstanceEvent::start:
      return "start";
    case InstanceEvent::ready:
      return "ready";
    case InstanceEvent::replaced:
      return "replaced";
    case InstanceEvent::start_failed:
      return "start failed";
    case InstanceEvent::start_deferred:
      return "start deferred";
    case InstanceEvent::exit_restart_later:
      return "exit (restart later)";
    case InstanceEvent::exit_stopped:
      return "exit (not restarted)";
    case InstanceEvent::exit_errored:
      return "exit (errored)";
    case InstanceEvent::stop:
      return "stop";
    case InstanceEvent::cancel_start:
      return "cancel start";
    case InstanceEvent::gone:
      return "gone";
  }
  return "unknown";
}

std::optional<InstanceState> next_state(InstanceState from, InstanceEvent event) {
  using S = InstanceState;
  const bool running = from == S::launching || from == S::online;  // a run exists and is not being stopped
  switch (event) {
    case InstanceEvent::start:
      // Not while stopping: a restart starts the slot again only once its stop is done.
      if (from == S::stopping) return std::nullopt;
      return S::launching;
    case InstanceEvent::ready:
      if (from != S::launching) return std::nullopt;
      return S::online;
    case InstanceEvent::replaced:
      if (!running) return std::nullopt;
      return S::online;
    case InstanceEvent::start_failed:
      if (from != S::launching) return std::nullopt;
      return S::errored;
    case InstanceEvent::start_deferred:
      if (from != S::launching) return std::nullopt;
      return S::waiting_restart;
    case InstanceEvent::exit_restart_later:
      if (!running) return std::nullopt;
      return S::waiting_restart;
    case InstanceEvent::exit_stopped:
      if (!running) return std::nullopt;
      return S::stopped;
    case InstanceEvent::exit_errored:
      if (!running) return std::nullopt;
      return S::errored;
    case InstanceEvent::stop:
      if (running) return S::stopping;
      if (from == S::waiting_restart) return S::stopped;  // nothing runs: only the timer goes
      return std::nullopt;  // stopped/errored have nothing to stop; stopping is on its way
    case InstanceEvent::cancel_start:
      if (from != S::launching) return std::nullopt;
      return S::stopped;
    case InstanceEvent::gone:
      // stopped/errored: the slot was down, but replaced or retiring runs were still going.
      if (from == S::stopping || from == S::stopped || from == S::errored) return S::stopped;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace drove::supervisor
