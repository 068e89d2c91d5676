// The state of `drove monit`; see monit_model.hpp.
#include "cli/monit_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace drove::cli {

void MonitModel::update(const nlohmann::json& list_reply) {
  std::map<int, MonitInstance> before;
  for (auto& i : instances_) before.emplace(i.id, std::move(i));
  instances_.clear();
  // `list` answers an array of rows; its shared form, {"processes": [...]}.
  const nlohmann::json* processes = &list_reply;
  if (list_reply.is_object() && list_reply.contains("processes")) processes = &list_reply["processes"];
  if (processes->is_array()) {
    for (const auto& p : *processes) {
      if (!p.is_object()) continue;
      MonitInstance i;
      i.id = p.value("id", 0);
      if (auto it = before.find(i.id); it != before.end()) {
        i.cpu_history = std::move(it->second.cpu_history);
        i.mem_history = std::move(it->second.mem_history);
      }
      i.name = p.value("name", "");
      i.namespace_name = p.value("namespace", "");
      i.pid = p.value("pid", 0);
      i.status = p.value("status", "");
      i.exec_mode = p.value("exec_mode", "");
      i.restarts = p.value("restart_time", 0);
      i.fds = p.value("fds", 0u);
      i.threads = p.value("threads", 0u);
      i.started_at_ms = p.value("started_at", std::int64_t{0});
      i.cpu = p.value("cpu", 0.0);
      i.memory = p.value("memory", std::uint64_t{0});
      if (const auto m = p.find("axm_monitor"); m != p.end() && m->is_object()) {
        for (const auto& [name, metric] : m->items()) {
          const nlohmann::json value = metric.is_object() ? metric.value("value", nlohmann::json()) : metric;
          std::string text = value.is_string() ? value.get<std::string>() : value.dump();
          const std::string unit = metric.is_object() && metric.contains("unit") && metric["unit"].is_string()
                                       ? metric["unit"].get<std::string>()
                                       : "";
          if (!unit.empty()) text += " " + unit;
          i.metrics.emplace_back(name, std::move(text));
        }
      }
      const auto h = p.find("history");
      if (i.cpu_history.empty() && h != p.end() && h->is_object() && h->value("cpu", nlohmann::json()).is_array() &&
          h->value("memory", nlohmann::json()).is_array()) {
        // The daemon's last minutes (the first refresh asks for them): the sparklines start full.
        for (const auto& v : (*h)["cpu"]) i.cpu_history.push_back(v.is_number() ? v.get<double>() : 0.0);
        for (const auto& v : (*h)["memory"]) i.mem_history.push_back(v.is_number() ? v.get<std::uint64_t>() : 0);
        while (i.cpu_history.size() > kHistory) i.cpu_history.pop_front();
        while (i.mem_history.size() > kHistory) i.mem_history.pop_front();
      } else {
        i.cpu_history.push_back(i.cpu);
        i.mem_history.push_back(i.memory);
      }
      if (i.cpu_history.size() > kHistory) i.cpu_history.pop_front();
      if (i.mem_history.size() > kHistory) i.mem_history.pop_front();
      instances_.push_back(std::move(i));
    }
  }
  std::sort(instances_.begin(), instances_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  // Forget the logs of instances that are gone; keep the selection on its instance.
  std::erase_if(logs_, [this](const auto& entry) {
    return std::none_of(instances_.begin(), instances_.end(), [&](const auto& i) { return i.id == entry.first; });
  });
  selected_ = 0;
  for (std::size_t n = 0; n < instances_.size(); ++n) {
    if (instances_[n].id == selected_id_) selected_ = n;
  }
  selected_id_ = instances_.empty() ? -1 : instances_[selected_].id;
}

void MonitModel::add_log(const nlohmann::json& event) {
  if (!event.is_object() || event.value("event", "") != "log") return;
  auto& lines = logs_[event.value("id", -1)];
  lines.push_back((event.value("stream", "out") == "err" ? "[err] " : "") + event.value("text", std::string()));
  if (lines.size() > kLogLines) lines.pop_front();
}

const MonitInstance* MonitModel::selected() const { return instances_.empty() ? nullptr : &instances_[selected_]; }

void MonitModel::move_selection(int delta) {
  if (instances_.empty()) return;
  const auto last = static_cast<long>(instances_.size()) - 1;
  selected_ = static_cast<std::size_t>(std::clamp(static_cast<long>(selected_) + delta, 0L, last));
  selected_id_ = instances_[selected_].id;
}

const std::deque<std::string>* MonitModel::logs_of_selected() const {
  const MonitInstance* s = selected();
  if (s == nullptr) return nullptr;
  auto it = logs_.find(s->id);
  return it == logs_.end() ? nullptr : &it->second;
}

std::optional<MonitAction> MonitModel::action_for_key(int key) const {
  const MonitInstance* s = selected();
  if (s == nullptr) return std::nullopt;
  const std::string id = std::to_string(s->id);
  const std::string who = id + " (" + s->name + ")";
  switch (key) {
    case 'r':
      return MonitAction{"restart", {{"targets", {id}}}, "restart " + who};
    case 'l':
      return MonitAction{"reload", {{"targets", {s->name}}, {"batch", 1}}, "reload " + s->name};
    case 's':
      return MonitAction{"stop", {{"targets", {id}}}, "stop " + who};
    case 'S':
      return MonitAction{"start_existing", {{"targets", {id}}}, "start " + who};
    case '+':
      return MonitAction{"scale", {{"name", s->name}, {"count", "+1"}}, "scale " + s->name + " +1"};
    case '-':
      return MonitAction{"scale", {{"name", s->name}, {"count", "-1"}}, "scale " + s->name + " -1"};
    default:
      return std::nullopt;
  }
}

std::string sparkline(const std::vector<double>& values, std::size_t width, double max, bool ascii) {
  static constexpr std::array<const char*, 8> kBlocks = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static constexpr std::array<char, 8> kAscii = {' ', '.', ':', '-', '=', '+', '*', '#'};
  if (max <= 0) {
    for (double v : values) max = std::max(max, v);
  }
  std::string out;
  const std::size_t shown = std::min(width, values.size());
  for (std::size_t pad = shown; pad < width; ++pad) out += ' ';
  for (std::size_t n = values.size() - shown; n < values.size(); ++n) {
    const double ratio = max > 0 ? std::clamp(values[n] / max, 0.0, 1.0) : 0.0;
    const auto level = static_cast<std::size_t>(std::lround(ratio * 7.0));
    if (ascii) {
      out += kAscii[level];
    } else {
      out += kBlocks[level];
    }
  }
  return out;
}

}  // namespace drove::cli
