// A ClusterPrimary wired to real node workers the way the daemon wires it: every channel
// message goes through handle_message(), a closed channel means remove_worker().
#pragma once

#include <atomic>
#include <thread>

#include "cluster/cluster_primary.hpp"
#include "cluster_test_support.hpp"

namespace drove::testing {

struct ClusterHarness {
  TestLoop loop;
  std::vector<std::pair<int, std::string>> bind_errors;  // (worker, key)
  std::map<int, int> online;
  cluster::ClusterPrimary primary;
  std::map<int, std::unique_ptr<NodeChild>> workers;

  explicit ClusterHarness(LoadBalance policy) : ClusterHarness(policy, cluster::ClusterPrimary::Options{}) {}
  ClusterHarness(LoadBalance policy, cluster::ClusterPrimary::Options options)
      : primary(loop.get(), policy,
                {.on_listening = nullptr,
                 .on_online = [this](int id) { online[id]++; },
                 .on_exited_after_disconnect = nullptr,
                 .on_bind_error = [this](int id, const std::string& key, int) { bind_errors.emplace_back(id, key); }},
                std::move(options)) {}

  ~ClusterHarness() {
    for (auto& [id, w] : workers) primary.remove_worker(id);
    workers.clear();
  }

  NodeChild* start(int id, const std::string& script, std::map<std::string, std::string> env) {
    env["NODE_UNIQUE_ID"] = std::to_string(id);
    auto child = start_node(loop.get(), fixture(script), std::move(env));
    if (!child) return nullptr;
    primary.add_worker(id, child->channel.get());
    child->intercept = [this, id](const nlohmann::json& m, UniqueFd& fd) { return primary.handle_message(id, m, fd); };
    child->on_closed = [this, id] { primary.remove_worker(id); };
    auto* raw = child.get();
    workers[id] = std::move(child);
    return raw;
  }

  bool wait_listening(int id, std::int64_t timeout_ms = 10000) {
    return loop.run_until([&] { return !primary.listening_keys(id).empty(); }, timeout_ms);
  }

  // Starts `count` workers (ids 1..count) of app.js on `port` and waits until all listen.
  bool start_http_workers(int count, int port, const std::string& host = "127.0.0.1") {
    for (int id = 1; id <= count; ++id) {
      if (!start(id, "app.js", {{"PORT", std::to_string(port)}, {"HOST", host}})) return false;
    }
    for (int id = 1; id <= count; ++id) {
      if (!wait_listening(id)) return false;
    }
    return true;
  }
};

struct LoadResult {
  std::map<int, int> per_pid;
  int ok = 0;
  int refused = 0;
  int other_errors = 0;
};

// Runs `clients` threads doing `total` sequential GETs between them (a new connection each)
// while this thread runs the loop; `tick` runs on the loop thread with the progress so far.
inline LoadResult run_http_load(ClusterHarness& h, int port, int total, int clients,
                                const std::function<void(int done)>& tick = nullptr) {
  std::vector<LoadResult> results(static_cast<std::size_t>(clients));
  std::atomic<int> done{0};
  std::atomic<int> finished_clients{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      LoadResult& r = results[static_cast<std::size_t>(c)];
      for (int i = c; i < total; i += clients) {
        const auto x = tcp_exchange(port, kHttpGet);
        const int pid = hello_pid(x.reply);
        if (x.error == ECONNREFUSED)
          r.refused++;
        else if (pid > 0) {
          r.ok++;
          r.per_pid[pid]++;
        } else
          r.other_errors++;
        done++;
      }
      finished_clients++;
    });
  }
  const bool finished = h.loop.run_until(
      [&] {
        if (tick) tick(done.load());
        return finished_clients.load() == clients;
      },
      120000);
  for (auto& t : threads) t.join();
  EXPECT_TRUE(finished);
  LoadResult all;
  for (const auto& r : results) {
    all.ok += r.ok;
    all.refused += r.refused;
    all.other_errors += r.other_errors;
    for (const auto& [pid, n] : r.per_pid) all.per_pid[pid] += n;
  }
  return all;
}

inline std::string spread_text(const LoadResult& r) {
  std::string s;
  for (const auto& [pid, n] : r.per_pid) s += std::to_string(n) + " ";
  return s + "(ok " + std::to_string(r.ok) + ", refused " + std::to_string(r.refused) + ", other errors " +
         std::to_string(r.other_errors) + ")";
}

}  // namespace drove::testing
