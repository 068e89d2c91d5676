#include "cluster/load_balance.hpp"

namespace drove {

const char* to_string(LoadBalance lb) {
  switch (lb) {
    case LoadBalance::round_robin:
      return "round-robin";
    case LoadBalance::shared:
      return "shared";
    case LoadBalance::reuseport:
      return "reuseport";
    case LoadBalance::least_connections:
      return "least-connections";
  }
  return "round-robin";
}

std::optional<LoadBalance> parse_load_balance(const std::string& text) {
  if (text == "round-robin" || text == "rr" || text == "roundrobin") return LoadBalance::round_robin;
  if (text == "shared" || text == "none") return LoadBalance::shared;
  if (text == "reuseport" || text == "reuse-port") return LoadBalance::reuseport;
  if (text == "least-connections" || text == "leastconn" || text == "least-conn") return LoadBalance::least_connections;
  return std::nullopt;
}

}  // namespace drove
