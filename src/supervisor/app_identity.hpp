// Who an app runs as: its uid/gid and supplementary groups (for spawn, and for every file the
// daemon makes for it), and the HOME/USER/LOGNAME/SHELL its process gets. Resolved from the
// user database in the daemon, before fork: the spawn child can only make async-signal-safe calls.
#pragma once

#include <string>

#include "base/result.hpp"
#include "base/safe_file.hpp"
#include "cluster/bind_helper.hpp"
#include "config/app_spec.hpp"

namespace drove::supervisor {

struct AppIdentity {
  FileOwner owner;        // empty when the app runs as the daemon's user
  std::string user_name;  // set when the app has a uid: its user's entry
  std::string home;
  std::string shell;
};

// `uid`/`gid` as names or numbers. Dropping privileges needs a daemon running as root; the
// user's primary group is used when only `uid` is given, and its supplementary groups are those
// of the user database (initgroups), plus `gid` when given.
Result<AppIdentity> resolve_app_identity(const AppSpec& spec);

// The rights the daemon uses when it acts on an app's behalf on the network (binds, unlinks of
// socket files): exactly the app's identity above, so never more rights than the app itself
// has. Empty (the daemon's own rights) when the app has no uid/gid.
Result<cluster::BindIdentity> bind_identity(const AppSpec& spec);

}  // namespace drove::supervisor
