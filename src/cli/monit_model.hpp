// What `drove monit` shows, apart from the terminal: the instances from `list` replies, a short
// history of each one's CPU and memory, the live log lines of each, the selection, and what a
// key asks for. Pure (no terminal, no socket): unit-tested alone (tests/unit/cli_monit_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace drove::cli {

struct MonitInstance {
  int id = 0;
  std::string name;
  std::string namespace_name;
  int pid = 0;
  std::string status;
  std::string exec_mode;
  int restarts = 0;
  std::uint32_t fds = 0;      // whole tree
  std::uint32_t threads = 0;  // whole tree
  std::int64_t started_at_ms = 0;
  double cpu = 0;
  std::uint64_t memory = 0;
  std::deque<double> cpu_history;         // oldest first, at most MonitModel::kHistory
  std::deque<std::uint64_t> mem_history;  // idem
  // What the app's @pm2/io reports: name → "value unit", in name order.
  std::vector<std::pair<std::string, std::string>> metrics;
};

// What a key asks the daemon to do (the terminal part sends it and shows the outcome).
struct MonitAction {
  std::string method;  // an RPC method: "restart", "reload", "stop", "start_existing", "scale"
  nlohmann::json params;
  std::string describe;  // "restart 3 (api)"
};

class MonitModel {
 public:
  static constexpr std::size_t kHistory = 120;   // samples kept per figure (2 min at 1 s)
  static constexpr std::size_t kLogLines = 500;  // lines kept per instance

  // A `list` reply (an array of rows): instances come and go; histories follow ids.
  void update(const nlohmann::json& list_reply);
  // A pushed log event ({"event":"log","id","name","stream","text"}).
  void add_log(const nlohmann::json& event);

  [[nodiscard]] const std::vector<MonitInstance>& instances() const { return instances_; }
  [[nodiscard]] const MonitInstance* selected() const;
  [[nodiscard]] std::size_t selected_index() const { return selected_; }
  void move_selection(int delta);
  // The selected instance's recent lines, oldest first ("[err] " before stderr lines).
  [[nodiscard]] const std::deque<std::string>* logs_of_selected() const;

  // The key's action on the selected instance, if it has one: r restart, l reload (the app),
  // s stop, S start, + and - scale the app by one.
  [[nodiscard]] std::optional<MonitAction> action_for_key(int key) const;

 private:
  std::vector<MonitInstance> instances_;
  std::map<int, std::deque<std::string>> logs_;
  std::size_t selected_ = 0;
  int selected_id_ = -1;  // the selection follows its instance when the list changes
};

// A sparkline of `values` scaled to [0, max] (max 0: to the largest value), `width` cells, the
// newest on the right; UTF-8 blocks, or ASCII (" .:-=+*#") when `ascii`.
std::string sparkline(const std::vector<double>& values, std::size_t width, double max, bool ascii);

}  // namespace drove::cli
