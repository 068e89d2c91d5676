// The files of $DROVE_HOME (default ~/.drove), known to the CLI and the daemon alike.
#pragma once

#include <string>

namespace drove {

struct HomeLayout {
  std::string root;
  [[nodiscard]] std::string socket() const { return root + "/drove.sock"; }
  [[nodiscard]] std::string pid_file() const { return root + "/drove.pid"; }
  [[nodiscard]] std::string spawn_lock() const { return root + "/drove.lock"; }
  [[nodiscard]] std::string daemon_log() const { return root + "/drove.log"; }
  // The saved list, under PM2's name (its previous version is dump.pm2.bak); drove 0.1 named it
  // dump.json, still read when there is no dump.pm2.
  [[nodiscard]] std::string dump() const { return root + "/dump.pm2"; }
  [[nodiscard]] std::string legacy_dump() const { return root + "/dump.json"; }
  [[nodiscard]] std::string logs_dir() const { return root + "/logs"; }
  [[nodiscard]] std::string pids_dir() const { return root + "/pids"; }
  // The web dashboard's token (0600), written by the daemon when it starts drove-web.
  [[nodiscard]] std::string web_token() const { return root + "/web.token"; }
};

// $DROVE_HOME, else $HOME/.drove, else the passwd entry's home + /.drove.
HomeLayout resolve_home();

}  // namespace drove
