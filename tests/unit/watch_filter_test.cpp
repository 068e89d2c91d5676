// WatchFilter: which changes `ignore_watch` (or PM2's default of dotfiles and node_modules)
// keeps from restarting an app.
#include "supervisor/watch_filter.hpp"

#include <gtest/gtest.h>

namespace drove::supervisor {
namespace {

TEST(WatchFilter, DefaultIgnoresDotfilesAndNodeModules) {
  WatchFilter f({}, "/srv/app");
  EXPECT_TRUE(f.ignored("/srv/app/node_modules/x/index.js"));
  EXPECT_TRUE(f.ignored("/srv/app/.git/HEAD"));
  EXPECT_TRUE(f.ignored("/srv/app/lib/.env"));
  EXPECT_FALSE(f.ignored("/srv/app/lib/util.js"));
  EXPECT_FALSE(f.ignored("/srv/app"));
}

TEST(WatchFilter, DefaultLooksOnlyBelowTheBase) {
  // A dot in the app's own path ("/home/me/.apps/x") must not ignore the whole app.
  WatchFilter f({}, "/home/me/.apps/x");
  EXPECT_FALSE(f.ignored("/home/me/.apps/x/server.js"));
}

TEST(WatchFilter, PlainNameIgnoresTheDirectoryAndEverythingUnderIt) {
  WatchFilter f({"logs", "./tmp/"}, "/srv/app");
  EXPECT_TRUE(f.ignored("/srv/app/logs"));
  EXPECT_TRUE(f.ignored("/srv/app/logs/2026/out.log"));
  EXPECT_TRUE(f.ignored("/srv/app/tmp/x"));
  EXPECT_FALSE(f.ignored("/srv/app/logsnot/x"));
  // Given patterns replace the defaults, as chokidar's `ignored` does in PM2.
  EXPECT_FALSE(f.ignored("/srv/app/node_modules/x.js"));
}

TEST(WatchFilter, GlobsMatchRelativePathsAndNames) {
  WatchFilter f({"*.log", "public/*.css", "/var/cache"}, "/srv/app");
  EXPECT_TRUE(f.ignored("/srv/app/a.log"));
  EXPECT_TRUE(f.ignored("/srv/app/deep/b.log"));
  EXPECT_TRUE(f.ignored("/srv/app/public/site.css"));
  EXPECT_FALSE(f.ignored("/srv/app/public/site.js"));
  EXPECT_TRUE(f.ignored("/var/cache/x"));
  EXPECT_FALSE(f.ignored("/srv/app/server.js"));
}

}  // namespace
}  // namespace drove::supervisor
