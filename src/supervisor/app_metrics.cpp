#include "supervisor/app_metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace drove::supervisor {
namespace {

bool short_text(const nlohmann::json& v, std::size_t max) {
  return v.is_string() && v.get_ref<const std::string&>().size() <= max;
}

// A metric as PM2 stores it: value (number, string or boolean), unit, type, historic.
std::optional<std::string> clean_metric(const std::string& name, const nlohmann::json& in, nlohmann::json& out) {
  if (name.empty() || name.size() > kMaxMetricNameBytes) {
    return fmt::format("axm:monitor: a metric name must be 1 to {} bytes", kMaxMetricNameBytes);
  }
  // pmx sent bare values ({name: 12}); @pm2/io sends objects.
  const nlohmann::json& value = in.is_object() ? (in.contains("value") ? in["value"] : nlohmann::json()) : in;
  if (value.is_number()) {
    if (!std::isfinite(value.get<double>())) return "axm:monitor: metric '" + name + "' is not a finite number";
  } else if (value.is_string()) {
    if (value.get_ref<const std::string&>().size() > kMaxMetricTextBytes) {
      return fmt::format("axm:monitor: metric '{}' has a string value over {} bytes", name, kMaxMetricTextBytes);
    }
  } else if (!value.is_boolean()) {
    return "axm:monitor: metric '" + name + "' has no number, string or boolean value";
  }
  out = nlohmann::json::object({{"value", value}});
  if (in.is_object()) {
    for (const char* key : {"unit", "type"}) {
      if (!in.contains(key) || in[key].is_null()) continue;
      if (!short_text(in[key], kMaxMetricTextBytes)) return "axm:monitor: metric '" + name + "' has a bad " + key;
      out[key] = in[key];
    }
    if (in.contains("historic") && in["historic"].is_boolean()) out["historic"] = in["historic"];
  }
  return std::nullopt;
}

}  // namespace

bool is_axm_message(const nlohmann::json& message) {
  if (!message.is_object()) return false;
  auto type = message.find("type");
  return type != message.end() && type->is_string() && type->get_ref<const std::string&>().rfind("axm:", 0) == 0;
}

std::optional<std::string> merge_axm_monitor(nlohmann::json& metrics, const nlohmann::json& data) {
  if (!data.is_object()) return "axm:monitor: 'data' is not an object";
  nlohmann::json merged = metrics.is_object() ? metrics : nlohmann::json::object();
  for (const auto& [name, in] : data.items()) {
    nlohmann::json out;
    if (auto why = clean_metric(name, in, out)) return why;
    merged[name] = std::move(out);
    if (merged.size() > kMaxAppMetrics) return fmt::format("axm:monitor: more than {} metrics", kMaxAppMetrics);
  }
  metrics = std::move(merged);
  return std::nullopt;
}

std::optional<std::string> add_axm_action(nlohmann::json& actions, const nlohmann::json& data) {
  if (!data.is_object() || !data.contains("action_name") || !short_text(data["action_name"], kMaxMetricNameBytes) ||
      data["action_name"].get_ref<const std::string&>().empty()) {
    return "axm:action: no 'action_name' of 1 to 128 bytes";
  }
  nlohmann::json action = {{"action_name", data["action_name"]}};
  if (data.contains("action_type") && short_text(data["action_type"], kMaxMetricTextBytes))
    action["action_type"] = data["action_type"];
  if (data.contains("arity") && data["arity"].is_number_integer()) action["arity"] = data["arity"];
  if (!actions.is_array()) actions = nlohmann::json::array();
  for (auto& existing : actions) {
    if (existing["action_name"] == action["action_name"]) {
      existing = std::move(action);
      return std::nullopt;
    }
  }
  if (actions.size() >= kMaxAppActions) return fmt::format("axm:action: more than {} actions", kMaxAppActions);
  actions.push_back(std::move(action));
  return std::nullopt;
}

}  // namespace drove::supervisor
