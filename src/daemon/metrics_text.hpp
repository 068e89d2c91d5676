// The daemon's figures in Prometheus's text exposition format (version 0.0.4): what
// `drove metrics` prints, for a node_exporter textfile collector, a scrape through a wrapper,
// or a look by hand. Families are written whole (HELP, TYPE, then every sample), label values
// escaped as the format requires. Built on the loop from values already sampled (no /proc read
// per instance here).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/process_view.hpp"

namespace drove::daemon {

struct DaemonFigures {
  std::string version;
  pid_t pid = 0;
  std::uint64_t resident_bytes = 0;
  std::uint64_t open_fds = 0;
  double cpu_seconds = 0;
  std::uint64_t loop_turns = 0;
  double loop_recent_longest_turn_seconds = 0;  // the last minute's longest turn
  std::uint64_t contained_errors = 0;
};

// A cluster app's listening socket and the connections the daemon accepted on it (round-robin,
// least-connections: the daemon is the accept path).
struct ListenerFigures {
  std::string app;
  std::string namespace_name;
  std::string address;
  int port = 0;
  std::uint64_t accepted = 0;
  std::uint64_t accept_queue = 0;  // connections waiting in its accept queue now
};

// An autoscaled app: its bounds, where its signal stands, and the decisions carried out.
struct AutoscaleFigures {
  std::string app;
  std::string namespace_name;
  std::string metric;  // cpu | pending | loadavg
  int instances = 0;
  int recommended = 0;
  int min_instances = 0;
  int max_instances = 0;
  double target = 0;
  std::optional<double> signal;  // none before the first measurement
  bool paused = false;
  std::uint64_t ups = 0;
  std::uint64_t downs = 0;
};

// A cluster worker as the daemon's router sees it (round-robin, least-connections): the
// connections handed to it, how many it has not acknowledged yet, how many it holds open now.
struct WorkerFigures {
  supervisor::ProcessView process;  // whose labels it carries
  std::uint64_t handed = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t open_connections = 0;
};

// An app's zero-downtime reloads: how many finished, by outcome, and how long the last took.
struct ReloadFigures {
  std::string app;
  std::string namespace_name;
  std::uint64_t done = 0;
  std::uint64_t aborted = 0;
  std::int64_t last_ms = -1;  // none yet
};

struct MetricsInput {
  std::vector<supervisor::ProcessView> processes;
  std::vector<ListenerFigures> listeners;
  std::vector<AutoscaleFigures> autoscaled;
  std::vector<WorkerFigures> workers;
  std::vector<ReloadFigures> reloads;
  DaemonFigures daemon;
  std::int64_t now_ms = 0;
};

std::string metrics_text(const MetricsInput& in);

// A label value as the format wants it: \ " and newline escaped.
std::string escape_label_value(const std::string& value);

}  // namespace drove::daemon
