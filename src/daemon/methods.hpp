// The RPC methods: each turns a request into supervisor commands and replies when the work is
// done (a stop replies once every targeted process tree is gone). docs/rpc.md lists them.
#pragma once

#include <functional>

#include "base/loop_meter.hpp"
#include "daemon/rpc_server.hpp"
#include "state/dump.hpp"
#include "supervisor/supervisor.hpp"

namespace drove::daemon {

class MetricsEndpoint;

struct MethodContext {
  uv_loop_t* loop;
  supervisor::Supervisor& supervisor;
  RpcServer& server;
  std::string dump_path;
  state::DumpWriter& dumps;  // the one writer of dump_path: saves are serialised
  std::function<void()> request_shutdown;
  std::function<void()> ensure_log_stream;            // starts forwarding log lines to subscribers
  const LoopMeter* loop_meter = nullptr;              // how long the loop's turns are (ping)
  const MetricsEndpoint* metrics_endpoint = nullptr;  // DROVE_METRICS_ADDR's drove-web (ping)
  std::function<CommandStatus()> hand_over;           // `drove update` (daemon.cpp)
  std::function<nlohmann::json()> keeper_info;        // ping: the keeper, if any
};

// `request` is the handler's to consume: a method may move what it keeps out of the params
// (a start's 15 MB environment is moved into the AppSpec, not copied).
void dispatch(MethodContext& context, RpcRequest& request, const RpcReply& reply);

}  // namespace drove::daemon
