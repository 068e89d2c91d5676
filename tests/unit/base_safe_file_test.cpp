// The safe file primitives (base/safe_file.hpp): symlinks another user planted are never
// followed, devices are never created, temporary files are unique, and FsIdentity makes the
// kernel check the app's rights on this thread only.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>

#include "base/safe_file.hpp"

namespace drove {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void spit(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

class SafeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drove-safe-file-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A directory owned by `nobody` (0755, not sticky): the kernel's protected_symlinks does not
  // apply there, only drove's own care does.
  std::optional<passwd> nobody_dir(const fs::path& where) {
    const passwd* pw = ::getpwnam("nobody");
    if (::geteuid() != 0 || pw == nullptr) return std::nullopt;
    fs::create_directories(where);
    EXPECT_EQ(::chown(where.c_str(), pw->pw_uid, pw->pw_gid), 0);
    EXPECT_EQ(::chmod(where.c_str(), 0755), 0);
    return *pw;
  }

  // A symlink owned by `uid` (lchown), as if that user had planted it.
  static void plant_link(const fs::path& target, const fs::path& link, uid_t uid, gid_t gid) {
    fs::create_symlink(target, link);
    ASSERT_EQ(::lchown(link.c_str(), uid, gid), 0);
  }

  fs::path dir_;
};

TEST_F(SafeFileTest, open_for_append_creates_directories_and_file_with_explicit_mode) {
  const mode_t old_mask = ::umask(0077);
  auto opened = open_for_append((dir_ / "a/b/out.log").string(), 0644, 0755);
  ::umask(old_mask);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  EXPECT_TRUE(opened->created);
  EXPECT_TRUE(opened->regular);
  ASSERT_EQ(::write(opened->fd.get(), "x\n", 2), 2);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "a/b/out.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);  // not narrowed by the umask
  EXPECT_EQ(::fcntl(opened->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(slurp(dir_ / "a/b/out.log"), "x\n");

  auto again = open_for_append((dir_ / "a/b/out.log").string());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->size, 2u);
}

TEST_F(SafeFileTest, symlink_planted_by_another_user_is_not_followed) {
  const fs::path attacker = dir_ / "attacker";
  auto pw = nobody_dir(attacker);
  if (!pw) GTEST_SKIP() << "needs root and a 'nobody' user";
  const fs::path victim = dir_ / "victim";
  spit(victim, "secret\n");
  ::chmod(victim.c_str(), 0600);
  plant_link(victim, attacker / "out.log", pw->pw_uid, pw->pw_gid);

  auto opened = open_for_append((attacker / "out.log").string());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ELOOP);
  EXPECT_NE(opened.error().message().find("refusing to follow symlink"), std::string::npos) << opened.error().message();
  EXPECT_FALSE(truncate_file((attacker / "out.log").string()).ok());
  EXPECT_EQ(slurp(victim), "secret\n");
  struct stat st {};
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(SafeFileTest, symlinked_parent_directory_planted_by_another_user_is_not_followed) {
  const fs::path attacker = dir_ / "attacker";
  auto pw = nobody_dir(attacker);
  if (!pw) GTEST_SKIP() << "needs root and a 'nobody' user";
  const fs::path target = dir_ / "rootonly";
  fs::create_directories(target);
  plant_link(target, attacker / "logs", pw->pw_uid, pw->pw_gid);

  EXPECT_FALSE(open_for_append((attacker / "logs/app-out.log").string()).ok());
  EXPECT_FALSE(open_for_append((attacker / "logs/deeper/app-out.log").string()).ok());
  EXPECT_TRUE(fs::is_empty(target));
}

TEST_F(SafeFileTest, symlinks_owned_by_root_or_the_user_are_followed) {
  fs::create_directories(dir_ / "real");
  fs::create_directory_symlink(dir_ / "real", dir_ / "alias");  // ours: trusted
  auto opened = open_for_append((dir_ / "alias/out.log").string());
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  EXPECT_TRUE(fs::exists(dir_ / "real/out.log"));
}

TEST_F(SafeFileTest, pid_file_temp_name_is_unique_and_a_planted_link_is_replaced_not_followed) {
  const fs::path attacker = dir_ / "attacker";
  auto pw = nobody_dir(attacker);
  if (!pw) GTEST_SKIP() << "needs root and a 'nobody' user";
  const fs::path victim = dir_ / "victim";
  spit(victim, "secret\n");
  plant_link(victim, attacker / "app.pid", pw->pw_uid, pw->pw_gid);
  plant_link(victim, attacker / "app.pid.tmp", pw->pw_uid, pw->pw_gid);

  ASSERT_TRUE(write_file_atomically((attacker / "app.pid").string(), "1234", 0644, false).ok());
  EXPECT_EQ(slurp(victim), "secret\n");
  EXPECT_FALSE(fs::is_symlink(attacker / "app.pid"));
  EXPECT_EQ(slurp(attacker / "app.pid"), "1234");
  // Nothing but the target and the attacker's leftover link remain: no temporary file.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(attacker)) ++entries;
  EXPECT_EQ(entries, 2u);
  ASSERT_TRUE(remove_file((attacker / "app.pid").string()).ok());
  EXPECT_TRUE(fs::exists(victim));
}

TEST_F(SafeFileTest, device_paths_are_special_and_never_created) {
  EXPECT_TRUE(is_special_file_path("/dev/full"));
  EXPECT_TRUE(is_special_file_path("/dev/does-not-exist"));
  EXPECT_FALSE(is_special_file_path((dir_ / "plain.log").string()));
  ::mkfifo((dir_ / "fifo").c_str(), 0600);
  EXPECT_TRUE(is_special_file_path((dir_ / "fifo").string()));

  EXPECT_FALSE(open_for_append("/dev/drove-test-never-created").ok());
  EXPECT_FALSE(fs::exists("/dev/drove-test-never-created"));
  auto null = open_for_append("/dev/null");
  ASSERT_TRUE(null.ok()) << null.error().message();
  EXPECT_FALSE(null->regular);
  EXPECT_FALSE(null->created);
}

TEST_F(SafeFileTest, hard_link_to_another_users_file_is_refused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to own files as another user";
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "no 'nobody' user";
  spit(dir_ / "theirs", "data\n");
  ASSERT_EQ(::chown((dir_ / "theirs").c_str(), pw->pw_uid, pw->pw_gid), 0);
  fs::create_hard_link(dir_ / "theirs", dir_ / "out.log");
  auto opened = open_for_append((dir_ / "out.log").string());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, EPERM);
}

TEST_F(SafeFileTest, fs_identity_applies_the_users_rights_on_this_thread_only) {
  const fs::path root_only = dir_ / "root-only";
  fs::create_directories(root_only);
  ::chmod(root_only.c_str(), 0700);
  ::chmod(dir_.c_str(), 0755);
  const passwd* pw = ::getpwnam("nobody");
  if (::geteuid() != 0 || pw == nullptr) GTEST_SKIP() << "needs root and a 'nobody' user";
  const FileOwner nobody{.uid = pw->pw_uid, .gid = pw->pw_gid, .groups = {pw->pw_gid}};
  // A thread that already exists (like libuv's pool) keeps the daemon's rights meanwhile; it is
  // started first because a new thread copies its creator's credentials.
  std::promise<void> go;
  auto other_thread_ok = std::async(std::launch::async, [&, started = go.get_future()]() mutable {
    started.wait();
    return open_for_append((root_only / "y.log").string()).ok();
  });
  {
    const FsIdentity as_nobody(nobody);
    auto denied = open_for_append((root_only / "x.log").string());
    EXPECT_FALSE(denied.ok());
    if (!denied.ok()) {
      EXPECT_EQ(denied.error().code, EACCES);
    }
    go.set_value();
    EXPECT_TRUE(other_thread_ok.get());
  }
  EXPECT_TRUE(open_for_append((root_only / "z.log").string()).ok());

  const fs::path theirs = dir_ / "theirs";
  ASSERT_TRUE(nobody_dir(theirs).has_value());
  {
    const FsIdentity as_nobody(nobody);
    ASSERT_TRUE(open_for_append((theirs / "sub/app.log").string()).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat((theirs / "sub/app.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
  ASSERT_EQ(::stat((theirs / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
}

}  // namespace
}  // namespace drove
