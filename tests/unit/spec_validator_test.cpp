// The daemon's validator of every AppSpec (issue #12): what a raw RPC client could send that the
// CLI would refuse is refused by the daemon too, with one line naming the app and the field.
#include "supervisor/spec_validator.hpp"

#include <gtest/gtest.h>

namespace drove::supervisor {
namespace {

AppSpec valid() {
  AppSpec spec;
  spec.name = "web";
  spec.script = "app.js";
  spec.exec_path = "/srv/app.js";
  spec.cwd = "/srv";
  return spec;
}

std::string why(const AppSpec& spec) { return validate_spec(spec).value_or(""); }

TEST(SpecValidator, AcceptsAnOrdinarySpec) { EXPECT_EQ(why(valid()), ""); }

TEST(SpecValidator, RefusesBadNames) {
  auto spec = valid();
  spec.name = "";
  EXPECT_EQ(why(spec), "app name is empty");
  spec.name = "all";
  EXPECT_EQ(why(spec), "app name 'all' is reserved (it targets every process)");
  spec.name = std::string(5000, 'n');
  EXPECT_NE(why(spec).find("is 5000 bytes long; the limit is 128"), std::string::npos);
  spec.name = "a\nb";
  EXPECT_NE(why(spec).find("control character"), std::string::npos);
  spec.name = std::string(128, 'n');
  EXPECT_EQ(why(spec), "");
}

TEST(SpecValidator, RefusesCountsDurationsAndUsers) {
  auto spec = valid();
  spec.instances = -5;
  EXPECT_EQ(why(spec), "app 'web': 'instances' must be between 1 and 4096, got -5");
  spec = valid();
  spec.instances = 4097;
  EXPECT_NE(why(spec).find("between 1 and 4096"), std::string::npos);
  spec = valid();
  spec.kill_timeout_ms = -1;
  EXPECT_NE(why(spec).find("'kill_timeout' must be between 0"), std::string::npos);
  spec = valid();
  spec.uid = "";
  EXPECT_EQ(why(spec), "app 'web': 'uid' is empty (omit it to run as the daemon's user)");
  spec = valid();
  spec.gid = "";
  EXPECT_NE(why(spec).find("'gid' is empty"), std::string::npos);
  spec = valid();
  spec.kill_signal = "SIGNOPE";
  EXPECT_NE(why(spec).find("is not a signal"), std::string::npos);
  spec = valid();
  spec.env["A=B"] = "c";
  EXPECT_NE(why(spec).find("not a valid name=value"), std::string::npos);
}

TEST(SpecValidator, NamesThatShareLogFilesCollide) {
  std::map<std::string, std::string> taken{{"a_b", "a/b"}};
  EXPECT_EQ(check_disk_name("a_b", taken).value_or(""),
            "app name 'a_b' would share log files with app 'a/b' (both are 'a_b' on disk)");
  EXPECT_FALSE(check_disk_name("a/b", taken));  // the same app
  EXPECT_FALSE(check_disk_name("a-b", taken));
}

TEST(SpecValidator, InstanceCaps) {
  EXPECT_FALSE(check_instance_caps("web", 1, 2000, 1));
  EXPECT_EQ(check_instance_caps("web", 1, 30000, 1).value_or(""),
            "cannot run 30000 instances of 'web': the limit is 4096 per app");
  EXPECT_NE(check_instance_caps("web", 1, 4000, 15000).value_or("").find("the limit is 16384"), std::string::npos);
}

}  // namespace
}  // namespace drove::supervisor
