// A bounded HTTP load generator for e2e tests (127.0.0.1 only): worker threads issue GETs
// until stopped, with a new connection per request or over keep-alive connections.
//
// Keep-alive follows what HTTP clients do (RFC 9112 §9.3.1): when a *reused* connection is
// closed by the server before any byte of the response arrived (the server closed it while
// idle), an idempotent request is sent again once on a new connection. Those are counted in
// `retried`, never hidden; any other failure is a failure.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace drove::e2e {

struct LoadStats {
  long ok = 0;  // 200 responses
  long non_200 = 0;
  long connect_errors = 0;             // refused / failed to connect
  long io_errors = 0;                  // reset, EOF mid-response, timeout
  long retried = 0;                    // keep-alive connection closed while idle: retried once
  std::map<std::string, long> bodies;  // response body → count (e.g. "pid 123")
  std::vector<std::string> failures;   // the first few failures: when, local port, how
  [[nodiscard]] long failed() const { return non_200 + connect_errors + io_errors; }
  [[nodiscard]] std::string summary() const;
};

class LoadGenerator {
 public:
  LoadGenerator(int port, int threads, bool keep_alive, std::string path = "/");
  ~LoadGenerator();
  void start();
  LoadStats stop();
  [[nodiscard]] long completed() const { return completed_.load(); }

 private:
  static constexpr size_t kFailuresKept = 8;
  void run_thread();
  void note_failure(LoadStats& stats, int fd, const std::string& why) const;
  int port_;
  int threads_;
  bool keep_alive_;
  std::string path_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> stop_{false};
  std::atomic<long> completed_{0};
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  LoadStats total_;
};

// One request on a new connection; returns the status (0 on failure) and the body.
int http_request(int port, const std::string& path, std::string* body, int timeout_ms = 10000);

}  // namespace drove::e2e
