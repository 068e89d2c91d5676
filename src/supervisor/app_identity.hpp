// The rights the daemon uses when it acts on an app's behalf on the network (binds, unlinks of
// socket files): the app's user, group and supplementary groups, as the app itself runs with.
#pragma once

#include "base/result.hpp"
#include "cluster/bind_helper.hpp"
#include "config/app_spec.hpp"

namespace drove::supervisor {

// Empty identity (the daemon's own rights) when the app has no uid/gid. Names or numbers, as
// launch() resolves them; the user's primary group when only `uid` is given.
Result<cluster::BindIdentity> bind_identity(const AppSpec& spec);

}  // namespace drove::supervisor
