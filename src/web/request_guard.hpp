// The checks drove-web's dashboard makes on a request before it does anything, as pure
// functions of the request's parts, so they are unit-tested apart from HTTP
// (tests/unit/web_request_guard_test.cpp). docs/security.md, "The web dashboard", states the
// model:
//  - an action needs `Authorization: Bearer <token>` (the token the daemon wrote to
//    $DROVE_HOME/web.token). A page on another site cannot send that header without a CORS
//    preflight, which drove-web never grants, so a forged cross-site request carries no token;
//  - a request whose Origin is not the endpoint's own is refused (belt and braces);
//  - a dashboard request whose Host names the endpoint by a DNS name is refused: that is how a
//    DNS-rebinding page (evil.example resolving to 127.0.0.1) reaches a loopback server, and the
//    endpoint is only ever reached by address (127.0.0.1:9615, [::1]:9615, localhost:9615).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace drove::web {

// The token's form: 64 lowercase hex digits (32 random bytes).
bool is_valid_token(std::string_view token);

// 127.0.0.0/8, ::1 or "localhost".
bool is_loopback(const std::string& host);

// A Host header that names this endpoint by address: an IPv4 literal, a bracketed IPv6 literal
// or "localhost", with `port` or no port.
bool host_is_acceptable(std::string_view host_header, int port);

// No Origin (a same-origin GET, curl), or exactly "http://" + the Host header.
bool origin_is_acceptable(std::string_view origin, std::string_view host_header);

// Whether `authorization` is "Bearer <token>", compared in constant time (no early exit on the
// first differing byte, which would let a client find the token byte by byte from timings).
bool bearer_matches(std::string_view authorization, std::string_view token);

// What a dashboard action asks the daemon: one of its RPC methods and the parameters.
struct RpcCall {
  std::string method;
  nlohmann::json params;
};

// POST /api/action's body, {"action": "restart"|"reload"|"stop"|"scale", "target": name or id,
// "instances": N (scale only)}, as the RPC call to make; nullopt with `why` for anything else.
// Nothing of the body but these three values reaches the daemon.
std::optional<RpcCall> action_call(std::string_view body, std::string& why);

// The `app` filter of GET /api/logs: empty (every app) or a name of at most kMaxNameBytes
// printable bytes.
constexpr std::size_t kMaxNameBytes = 256;
bool is_valid_app_filter(std::string_view app);

}  // namespace drove::web
