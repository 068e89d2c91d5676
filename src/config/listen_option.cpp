#include "config/listen_option.hpp"

#include <filesystem>

#include "config/option_reader.hpp"

namespace drove::config {
namespace {

std::optional<int> port_number(const nlohmann::json& value) {
  auto number = json_whole_number(value);
  if (!number || value.is_boolean() || *number < 1 || *number > 65535) return std::nullopt;
  return static_cast<int>(*number);
}

std::optional<ListenSpec> from_text(const std::string& text, const std::string& cwd) {
  namespace fs = std::filesystem;
  if (text.empty()) return std::nullopt;
  if (text[0] == '/' || text.rfind("./", 0) == 0 || text.rfind("../", 0) == 0) {
    const fs::path path = (fs::path(cwd) / text).lexically_normal();
    return ListenSpec{path.string(), 0, path.filename().string()};
  }
  if (auto port = port_number(text)) return ListenSpec{"", *port, "http"};
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = port_number(text.substr(colon + 1));
  if (host.empty() || !port) return std::nullopt;
  return ListenSpec{host, *port, "http"};
}

}  // namespace

std::optional<ListenSpec> parse_listen_entry(const nlohmann::json& entry, const std::string& cwd) {
  if (entry.is_number()) {
    auto port = port_number(entry);
    if (!port) return std::nullopt;
    return ListenSpec{"", *port, "http"};
  }
  if (entry.is_string()) return from_text(entry.get<std::string>(), cwd);
  if (!entry.is_object()) return std::nullopt;
  std::optional<ListenSpec> spec;
  if (entry.contains("path") && entry["path"].is_string()) {
    spec = from_text(entry["path"].get<std::string>(), cwd);
    if (spec && spec->port != 0) return std::nullopt;
  } else if (entry.contains("port")) {
    auto port = port_number(entry["port"]);
    if (!port) return std::nullopt;
    const auto address = entry.value("address", entry.value("host", std::string()));
    spec = ListenSpec{address, *port, "http"};
  }
  if (spec && entry.contains("name")) {
    if (!entry["name"].is_string()) return std::nullopt;
    spec->name = entry["name"].get<std::string>();
  }
  return spec;
}

}  // namespace drove::config
