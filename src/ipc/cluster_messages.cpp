#include "ipc/cluster_messages.hpp"

#include <cmath>

namespace drove::ipc {
namespace {

using nlohmann::json;

const json* field(const json& msg, const char* name) {
  if (!msg.is_object()) return nullptr;
  const auto it = msg.find(name);
  return it == msg.end() ? nullptr : &*it;
}

std::optional<std::int64_t> integer_field(const json& msg, const char* name) {
  const json* v = field(msg, name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<std::int64_t>();
  // What JS could have sent as an integer: a whole number within ±(2^53 - 1). Anything larger
  // (an unsigned above that, 5.3e40) is not one, and casting it to int64 would be undefined.
  constexpr double kMaxSafeInteger = 9007199254740991.0;
  const double d = v->get<double>();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > kMaxSafeInteger) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

// How JS renders a value in a template literal, for the parts Node puts in a key.
std::string js_text(const json* v) {
  if (v == nullptr) return "undefined";
  if (v->is_null()) return "null";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  if (v->is_number()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
      return std::to_string(static_cast<std::int64_t>(d));
    }
  }
  return v->dump();
}

json base_reply(const QueryServer& q, const json& data, std::int64_t seq) {
  return {{"cmd", "NODE_CLUSTER"}, {"key", q.key}, {"ack", q.seq}, {"data", data}, {"seq", seq}};
}

}  // namespace

bool is_cluster_message(const json& msg) {
  const json* cmd = field(msg, "cmd");
  return cmd != nullptr && cmd->is_string() && cmd->get_ref<const std::string&>() == "NODE_CLUSTER";
}

std::optional<std::string> act_of(const json& msg) {
  const json* act = field(msg, "act");
  if (act == nullptr || !act->is_string()) return std::nullopt;
  return act->get<std::string>();
}

std::optional<std::int64_t> seq_of(const json& msg) { return integer_field(msg, "seq"); }
std::optional<std::int64_t> ack_of(const json& msg) { return integer_field(msg, "ack"); }

std::string node_key(const json& msg) {
  return js_text(field(msg, "address")) + ":" + js_text(field(msg, "port")) + ":" + js_text(field(msg, "addressType")) +
         ":" + js_text(field(msg, "fd")) + ":" + js_text(field(msg, "index"));
}

std::optional<QueryServer> parse_query_server(const json& msg) {
  if (!is_cluster_message(msg) || act_of(msg) != "queryServer") return std::nullopt;
  const auto seq = seq_of(msg);
  if (!seq) return std::nullopt;
  QueryServer q;
  q.seq = *seq;
  q.index = integer_field(msg, "index").value_or(0);
  if (const json* d = field(msg, "data")) q.data = *d;
  q.flags = static_cast<int>(integer_field(msg, "flags").value_or(0));
  q.backlog = static_cast<int>(integer_field(msg, "backlog").value_or(0));
  if (const json* v = field(msg, "readableAll")) q.readable_all = v->is_boolean() && v->get<bool>();
  if (const json* v = field(msg, "writableAll")) q.writable_all = v->is_boolean() && v->get<bool>();
  q.key = node_key(msg);

  const json* address = field(msg, "address");
  if (address != nullptr && address->is_string())
    q.address = address->get<std::string>();
  else if (address != nullptr && !address->is_null())
    return std::nullopt;
  q.port = static_cast<int>(integer_field(msg, "port").value_or(0));

  const auto fd = integer_field(msg, "fd");
  const json* type = field(msg, "addressType");
  if (type != nullptr && type->is_string()) {  // dgram: "udp4" | "udp6"
    const auto& t = type->get_ref<const std::string&>();
    if (t != "udp4" && t != "udp6") return std::nullopt;
    q.kind = QueryServer::Kind::udp;
    q.family = t == "udp6" ? 6 : 4;
    if (!q.address) q.address = q.family == 6 ? "::" : "0.0.0.0";
    return q;
  }
  if (fd && *fd >= 0) {  // listen({fd}): the number means nothing in our process
    q.kind = QueryServer::Kind::fd;
    q.fd = static_cast<int>(*fd);
    return q;
  }
  const auto address_type = integer_field(msg, "addressType");
  if (address_type == -1) {
    if (!q.address || q.address->empty()) return std::nullopt;
    q.kind = QueryServer::Kind::unix_path;
    return q;
  }
  q.kind = QueryServer::Kind::tcp;
  q.family = address_type == 6 ? 6 : (address_type == 4 && q.address ? 4 : 0);
  if (q.port < 0 || q.port > 65535) return std::nullopt;
  return q;
}

json rr_reply(const QueryServer& q, const json& data, const json& sockname, std::int64_t seq) {
  json reply = base_reply(q, data, seq);
  reply["errno"] = nullptr;
  if (!sockname.is_null()) reply["sockname"] = sockname;
  return reply;
}

json shared_reply(const QueryServer& q, const json& data, std::int64_t seq) {
  json reply = base_reply(q, data, seq);
  reply["errno"] = 0;
  return reply;
}

json error_reply(const QueryServer& q, const json& data, int negative_errno, std::int64_t seq) {
  json reply = base_reply(q, data, seq);
  reply["errno"] = negative_errno;
  return reply;
}

json newconn(const std::string& key, std::int64_t seq) {
  return {{"cmd", "NODE_CLUSTER"}, {"act", "newconn"}, {"key", key}, {"seq", seq}};
}

json disconnect_request(std::int64_t seq) { return {{"cmd", "NODE_CLUSTER"}, {"act", "disconnect"}, {"seq", seq}}; }

json ack_reply(std::int64_t ack, std::int64_t seq) { return {{"cmd", "NODE_CLUSTER"}, {"ack", ack}, {"seq", seq}}; }

std::optional<NewconnReply> parse_newconn_reply(const json& msg) {
  if (!is_cluster_message(msg)) return std::nullopt;
  const auto ack = ack_of(msg);
  const json* accepted = field(msg, "accepted");
  if (!ack || accepted == nullptr || !accepted->is_boolean()) return std::nullopt;
  return NewconnReply{*ack, accepted->get<bool>()};
}

namespace {

// Numbers Node puts in these messages are integers (ports, seqs, address types); absent is
// fine, present with another type is not.
bool optional_integer(const json& msg, const char* name, std::string& why) {
  const json* v = field(msg, name);
  if (v == nullptr || v->is_null() || integer_field(msg, name)) return true;
  why = std::string("\"") + name + "\" must be an integer";
  return false;
}

bool optional_string_or_null(const json& msg, const char* name, std::string& why) {
  const json* v = field(msg, name);
  if (v == nullptr || v->is_null() || v->is_string()) return true;
  why = std::string("\"") + name + "\" must be a string";
  return false;
}

}  // namespace

std::optional<std::variant<WorkerMessage, ProtocolError>> parse_worker_message(const json& msg) {
  if (!is_cluster_message(msg)) return std::nullopt;
  using Out = std::variant<WorkerMessage, ProtocolError>;
  if (auto reply = parse_newconn_reply(msg)) return Out{WorkerMessage{*reply}};
  const json* act_field = field(msg, "act");
  if (act_field == nullptr) {
    if (field(msg, "accepted") != nullptr)
      return Out{ProtocolError{"newconn reply without an integer ack and a boolean accepted", {}, {}}};
    return Out{WorkerMessage{WorkerIgnored{}}};
  }
  if (!act_field->is_string()) return Out{ProtocolError{"\"act\" must be a string", {}, {}}};
  const auto& act = act_field->get_ref<const std::string&>();
  std::string why;
  if (act == "online") return Out{WorkerMessage{WorkerOnline{}}};
  if (act == "queryServer") {
    // Checked first: parse_query_server reads an absent or mistyped port as 0 (any port).
    const bool typed = optional_integer(msg, "port", why) && optional_string_or_null(msg, "address", why) &&
                       optional_integer(msg, "index", why);
    if (typed) {
      if (auto q = parse_query_server(msg)) return Out{WorkerMessage{std::move(*q)}};
    }
    return Out{
        ProtocolError{typed ? "malformed queryServer" : "malformed queryServer: " + why, seq_of(msg), node_key(msg)}};
  }
  if (act == "listening") {
    if (!optional_integer(msg, "port", why) || !optional_string_or_null(msg, "address", why)) {
      return Out{ProtocolError{"malformed listening: " + why, {}, {}}};
    }
    WorkerListening l;
    l.key = node_key(msg);
    json requested = msg;
    requested["port"] = 0;
    l.requested_key = node_key(requested);
    if (const json* a = field(msg, "address"); a != nullptr && a->is_string()) l.address = a->get<std::string>();
    // A pipe (unix path) server says port -1: Node's `options.port` for a path.
    const auto port = integer_field(msg, "port").value_or(0);
    if (port < -1 || port > 65535) return Out{ProtocolError{"malformed listening: \"port\" out of range", {}, {}}};
    l.port = static_cast<int>(port);
    if (const auto type = integer_field(msg, "addressType"); type == 4 || type == 6 || type == -1)
      l.address_type = static_cast<int>(*type);
    return Out{WorkerMessage{std::move(l)}};
  }
  if (act == "close") {
    const json* key = field(msg, "key");
    if (key == nullptr || !key->is_string())
      return Out{ProtocolError{"malformed close: \"key\" must be a string", {}, {}}};
    return Out{WorkerMessage{WorkerServerClosed{key->get<std::string>()}}};
  }
  if (act == "exitedAfterDisconnect") {
    if (!optional_integer(msg, "seq", why))
      return Out{ProtocolError{"malformed exitedAfterDisconnect: " + why, {}, {}}};
    return Out{WorkerMessage{WorkerExitedAfterDisconnect{seq_of(msg).value_or(0)}}};
  }
  return Out{WorkerMessage{WorkerIgnored{}}};
}

json query_error_reply(const std::string& key, std::int64_t ack, int negative_errno, std::int64_t seq) {
  return {{"cmd", "NODE_CLUSTER"},   {"key", key}, {"ack", ack}, {"data", nullptr},
          {"errno", negative_errno}, {"seq", seq}};
}

json make_sockname(const std::string& address, int family, int port) {
  return {{"address", address}, {"family", family == 6 ? "IPv6" : "IPv4"}, {"port", port}};
}

}  // namespace drove::ipc
