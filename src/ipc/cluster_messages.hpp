// The NODE_CLUSTER messages of Node's cluster protocol (node-cluster-protocol.md §2): parsing
// what a worker asks and building what the primary answers. Pure functions of their inputs.
//
// A worker (any app, possibly hostile) is untrusted: its messages become typed structs here
// (parse_worker_message), and a field of the wrong type is a ProtocolError for that worker, so
// nothing deeper in reads raw JSON with a default that could throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

namespace drove::ipc {

// What a listen()/bind() in a worker asked for.
struct QueryServer {
  enum class Kind { tcp, unix_path, udp, fd };
  Kind kind = Kind::tcp;
  std::int64_t seq = 0;                // to answer with "ack"
  std::int64_t index = 0;              // n-th listen on the same address in that worker
  nlohmann::json data;                 // echoed (TLS: {"ticketKeys": ...})
  std::optional<std::string> address;  // TCP: null = all interfaces, dual-stack; unix: the path
  int port = 0;                        // TCP/UDP; -1 for unix paths
  int family = 0;                      // 4 or 6 for TCP/UDP when known (0: address null)
  int flags = 0;                       // TCP: 1 = ipv6Only. UDP: 1 = IPV6ONLY, 4 = REUSEADDR
  int backlog = 0;                     // 0 = default
  std::optional<int> fd;               // listen({fd}): a descriptor number in the primary (unsupported)
  bool readable_all = false;
  bool writable_all = false;
  std::string key;  // Node's key for this server, shared by all workers
};

bool is_cluster_message(const nlohmann::json& msg);  // cmd == "NODE_CLUSTER"
std::optional<std::string> act_of(const nlohmann::json& msg);
std::optional<std::int64_t> seq_of(const nlohmann::json& msg);
std::optional<std::int64_t> ack_of(const nlohmann::json& msg);

// Node's key: `${address}:${port}:${addressType}:${fd}:${index}` with JS's rendering of
// null/undefined, e.g. "null:3000:4:undefined:0".
std::string node_key(const nlohmann::json& query_server_msg);

// nullopt when the message is not a well-formed queryServer.
std::optional<QueryServer> parse_query_server(const nlohmann::json& msg);

// Round-robin reply (no fd). `sockname` is null for unix paths; else {address,family,port}.
nlohmann::json rr_reply(const QueryServer& q, const nlohmann::json& data, const nlohmann::json& sockname,
                        std::int64_t seq);
// Shared/reuseport/UDP reply: the inner message of a NODE_HANDLE that carries the socket.
nlohmann::json shared_reply(const QueryServer& q, const nlohmann::json& data, std::int64_t seq);
// Failure: `negative_errno` like -98 (EADDRINUSE); the worker's server emits 'error'.
nlohmann::json error_reply(const QueryServer& q, const nlohmann::json& data, int negative_errno, std::int64_t seq);
// The inner message of the NODE_HANDLE carrying a connection (type "net.Native").
nlohmann::json newconn(const std::string& key, std::int64_t seq);
nlohmann::json disconnect_request(std::int64_t seq);
nlohmann::json ack_reply(std::int64_t ack, std::int64_t seq);

// A worker's reply to newconn: {ack, accepted}. nullopt when it is not one.
struct NewconnReply {
  std::int64_t ack = 0;
  bool accepted = false;
};
std::optional<NewconnReply> parse_newconn_reply(const nlohmann::json& msg);

// act "online": the worker process runs.
struct WorkerOnline {};
// act "listening": a server of the worker listens; `key` is built from the actual port,
// `requested_key` from port 0 (Node's key for a listen on an ephemeral port).
struct WorkerListening {
  std::string key;
  std::string requested_key;
  std::optional<std::string> address;
  int port = 0;
  int address_type = 0;  // 4, 6, -1 (unix path); 0 when absent or a string (udp)
};
// act "close": a server of the worker closed.
struct WorkerServerClosed {
  std::string key;
};
// act "exitedAfterDisconnect": the primary answers with an ack of `seq`.
struct WorkerExitedAfterDisconnect {
  std::int64_t seq = 0;
};
// A NODE_CLUSTER message the primary does not act on (Node's primary ignores unknown acts).
struct WorkerIgnored {};

using WorkerMessage = std::variant<WorkerOnline, QueryServer, WorkerListening, WorkerServerClosed,
                                   WorkerExitedAfterDisconnect, NewconnReply, WorkerIgnored>;

// A NODE_CLUSTER message with a field of the wrong type. `seq` is set when the worker waits for
// an answer (a queryServer): it gets an error reply (its server emits 'error'), the way a request
// Node's primary cannot serve is answered.
struct ProtocolError {
  std::string reason;
  std::optional<std::int64_t> query_seq;
  std::string key;
};

// nullopt when `msg` is not a NODE_CLUSTER message (it is the app's own).
std::optional<std::variant<WorkerMessage, ProtocolError>> parse_worker_message(const nlohmann::json& msg);

// The reply to a queryServer that failed before it was understood.
nlohmann::json query_error_reply(const std::string& key, std::int64_t ack, int negative_errno, std::int64_t seq);

// {"address","family","port"} as Node's server.address() reports it.
nlohmann::json make_sockname(const std::string& address, int family, int port);

}  // namespace drove::ipc
