// The CLI's side of the RPC: a blocking connection to the daemon's socket. Connecting starts
// the daemon when none answers: under an flock on drove.lock so that two CLIs racing start one
// daemon, detached in its own session with its output in drove.log.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/home_paths.hpp"
#include "base/unique_fd.hpp"

namespace drove::cli {

// A failed command as the user sees it: one line, and the process exit code.
struct UserError : std::runtime_error {
  explicit UserError(const std::string& message, int exit_code = 1) : std::runtime_error(message), code(exit_code) {}
  int code;
};

class Client {
 public:
  // Connects, starting the daemon if `start_daemon` and none runs. Throws UserError.
  static Client connect(const HomeLayout& home, bool start_daemon = true);
  // Connects only if a daemon runs.
  static std::optional<Client> connect_if_running(const HomeLayout& home);

  // Sends one request and waits for its reply; a daemon error becomes a UserError.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  // Reads the next pushed line (events, log lines) after a subscribe; nullopt at EOF.
  std::optional<nlohmann::json> next_message();

  // Without waiting (`drove monit`): send() writes a request and returns its id; its reply
  // comes through poll_message(), which returns a line already received, or reads what the
  // socket holds now and returns nullopt when no whole line is there. eof(): the daemon hung up.
  long send(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  std::optional<nlohmann::json> poll_message();
  [[nodiscard]] bool eof() const { return eof_; }
  [[nodiscard]] int fd() const { return fd_.get(); }

  [[nodiscard]] const std::string& daemon_version() const { return daemon_version_; }

 private:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}
  std::optional<std::string> read_line();

  UniqueFd fd_;
  std::string buffer_;
  long next_id_ = 1;
  std::string daemon_version_;
  bool version_checked_ = false;
  std::string lost_reason_;  // why the last read failed (strerror), "" for an orderly close
  bool eof_ = false;
};

}  // namespace drove::cli
