// `drove startup [systemd]` and `drove unstartup`: the daemon as a systemd service, so the saved
// process list comes back after a reboot. PM2 writes a Type=forking unit around its God daemon
// (whose pid file races systemd, PM2 #2912/#3924); drove's unit is Type=notify: systemd runs
// `drove daemon --resurrect` in the foreground and is told READY=1 once the saved list is up.
#pragma once

#include <string>

namespace drove::cli {

struct StartupOptions {
  std::string platform;       // "" (detect), "systemd" (and PM2's names for it: ubuntu, centos, redhat)
  std::string user;           // -u/--user: the account the daemon (and its apps) run as; default: ours
  std::string home_path;      // --hp: that user's home; DROVE_HOME is <hp>/.drove (for yourself
                              // without --hp: your $DROVE_HOME when set)
  std::string service_name;   // --service-name; default drove-<user>
  int watchdog_sec = 0;       // --watchdog-sec: WatchdogSec= (0: none)
  int timeout_stop_sec = 60;  // --timeout-stop-sec: TimeoutStopSec=, above every app's kill_timeout
  bool dry_run = false;       // print the unit and the commands, touch nothing
};

// What the unit says, resolved.
struct UnitParams {
  std::string exe;  // the drove binary, absolute
  std::string user;
  std::string drove_home;  // DROVE_HOME of the service
  std::string path;        // PATH of the service (node and interpreters are found through it)
  int watchdog_sec = 0;
  int timeout_stop_sec = 60;
};

// The unit file's text. Throws UserError for a value systemd would read differently than meant
// (whitespace, quotes, '%' specifiers, newlines).
std::string systemd_unit(const UnitParams& params);

int cmd_startup(const StartupOptions& options);
int cmd_unstartup(const StartupOptions& options);

}  // namespace drove::cli
