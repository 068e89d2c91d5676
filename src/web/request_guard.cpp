#include "web/request_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace drove::web {
namespace {

constexpr int kMaxScaleInstances = 4096;  // beyond any real app; the daemon applies its own limits

bool is_printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte != 0x7f;  // UTF-8 continuation bytes (>= 0x80) are allowed
  });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool is_valid_token(std::string_view token) {
  return token.size() == 64 && std::all_of(token.begin(), token.end(),
                                           [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_loopback(const std::string& host) {
  if (iequals(host, "localhost")) return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool host_is_acceptable(std::string_view host_header, int port) {
  std::string_view name = host_header;
  std::string_view port_text;
  if (!name.empty() && name.front() == '[') {
    const auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    if (close + 1 < name.size()) {
      if (name[close + 1] != ':') return false;
      port_text = name.substr(close + 2);
    }
    const std::string literal(name.substr(1, close - 1));
    in6_addr v6{};
    if (::inet_pton(AF_INET6, literal.c_str(), &v6) != 1) return false;
  } else {
    if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
      port_text = name.substr(colon + 1);
      name = name.substr(0, colon);
    }
    const std::string literal(name);
    in_addr v4{};
    if (!iequals(literal, "localhost") && ::inet_pton(AF_INET, literal.c_str(), &v4) != 1) return false;
  }
  if (port_text.empty()) return host_header.back() != ':';
  int given = -1;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), given);
  return error == std::errc() && end == port_text.data() + port_text.size() && given == port;
}

bool origin_is_acceptable(std::string_view origin, std::string_view host_header) {
  if (origin.empty()) return true;
  constexpr std::string_view kScheme = "http://";
  return origin.size() == kScheme.size() + host_header.size() && origin.substr(0, kScheme.size()) == kScheme &&
         iequals(origin.substr(kScheme.size()), host_header);
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (token.empty() || authorization.size() != kScheme.size() + token.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return false;  // the length is not a secret: the token's form is documented
  }
  const std::string_view given = authorization.substr(kScheme.size());
  unsigned char difference = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ token[i]);
  }
  return difference == 0;
}

std::optional<RpcCall> action_call(std::string_view body, std::string& why) {
  const auto request = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) {
    why = "the body is not a JSON object";
    return std::nullopt;
  }
  for (const auto& [key, _] : request.items()) {
    if (key != "action" && key != "target" && key != "instances") {
      why = "unknown field '" + key + "' (expected action, target, instances)";
      return std::nullopt;
    }
  }
  const auto action = request.find("action");
  if (action == request.end() || !action->is_string()) {
    why = "'action' must be one of restart, reload, stop, scale";
    return std::nullopt;
  }
  std::string target;
  if (const auto t = request.find("target"); t != request.end() && t->is_string()) {
    target = t->get<std::string>();
  } else if (t != request.end() && t->is_number_integer() && t->get<long long>() >= 0) {
    target = std::to_string(t->get<long long>());
  }
  if (target.empty() || target.size() > kMaxNameBytes || !is_printable(target)) {
    why = "'target' must be an app name, an instance id or a namespace (1-256 printable bytes)";
    return std::nullopt;
  }
  const std::string& name = action->get_ref<const std::string&>();
  if (name == "scale") {
    const auto instances = request.find("instances");
    if (instances == request.end() || !instances->is_number_integer() || instances->get<long long>() < 0 ||
        instances->get<long long>() > kMaxScaleInstances) {
      why = "'instances' must be a whole number from 0 to " + std::to_string(kMaxScaleInstances);
      return std::nullopt;
    }
    return RpcCall{"scale", {{"name", target}, {"count", std::to_string(instances->get<long long>())}}};
  }
  if (request.contains("instances")) {
    why = "'instances' goes with 'scale' only";
    return std::nullopt;
  }
  if (name == "restart" || name == "reload" || name == "stop") {
    return RpcCall{name, {{"targets", nlohmann::json::array({target})}}};
  }
  why = "'action' must be one of restart, reload, stop, scale";
  return std::nullopt;
}

bool is_valid_app_filter(std::string_view app) { return app.size() <= kMaxNameBytes && is_printable(app); }

}  // namespace drove::web
