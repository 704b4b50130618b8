// The relay's state directory: finding the home without NSS, removing run
// directories without following symlinks, and leaving other hosts' run
// directories alone (a home shared over NFS).
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "relay/state_dir.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A PID that was in use and is no more: a child that has been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

}  // namespace

TEST_CASE("the home comes from the passwd line of the uid") {
  const std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "# a comment\n"
      "broken line\n"
      "svc:x:100:100::/var/lib/svc:/usr/sbin/nologin\n"
      "ann:x:1000:1000:Ann,,,:/home/ann:/bin/zsh\n"
      "bob:x:10000:10000::/home/bob:/bin/sh\n"
      "nohome:x:1001:1001:::/bin/sh\n"
      "last:x:1002:1002::/home/last";  // no newline at the end
  CHECK(relay::home_from_passwd(passwd, 0) == "/root");
  CHECK(relay::home_from_passwd(passwd, 1000) == "/home/ann");
  CHECK(relay::home_from_passwd(passwd, 10000) == "/home/bob");  // not 1000's line: uids are compared whole
  CHECK(relay::home_from_passwd(passwd, 100) == "/var/lib/svc");
  CHECK(relay::home_from_passwd(passwd, 1002) == "/home/last");
  CHECK(relay::home_from_passwd(passwd, 1001).empty());  // an empty home is no home
  CHECK(relay::home_from_passwd(passwd, 4242).empty());
  CHECK(relay::home_from_passwd("", 0).empty());
  CHECK(relay::home_from_passwd("+::::::\n", 0).empty());  // NIS markers are not users
}

TEST_CASE("without HOME, the state directory is under the passwd home, never /tmp") {
  const char* saved = std::getenv("HOME");
  const std::string home = saved ? saved : "";
  ::unsetenv("HOME");
  std::string dir, error;
  try {
    dir = relay::default_state_dir();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (saved) ::setenv("HOME", home.c_str(), 1);
  const std::string passwd_home = relay::home_from_passwd(read("/etc/passwd"), ::getuid());
  if (passwd_home.empty()) {  // a user from LDAP or the like: no guess, an error
    CHECK(error.find("HOME is not set and /etc/passwd gives no home for uid") == 0);
  } else {
    CHECK(dir == passwd_home + "/.cache/treesync");
    // The dynamic test binary may ask NSS; the static relay may not, and must agree with it.
    if (const passwd* pw = ::getpwuid(::getuid())) CHECK(dir == std::string(pw->pw_dir) + "/.cache/treesync");
  }
}

TEST_CASE("removing a run directory never follows a symlink") {
  TempDir t("state-test");
  const fs::path outside = t.path / "outside", run = t.path / "state/run-h-1-abcdef";
  fs::create_directories(outside / "dir");
  write(outside / "precious", "keep me");
  write(outside / "dir/also", "keep me too");
  fs::create_directories(run / "sub");
  write(run / "archive.spool", "spool");
  write(run / "sub/file", "x");
  fs::create_symlink(outside / "precious", run / "link-to-file");
  fs::create_symlink(outside / "dir", run / "link-to-dir");
  fs::create_symlink(outside / "dir", run / "sub/deeper-link");

  relay::remove_tree(run.string());
  CHECK(!fs::exists(fs::symlink_status(run)));
  CHECK(read(outside / "precious") == "keep me");
  CHECK(read(outside / "dir/also") == "keep me too");

  SECTION("a run directory that is itself a symlink is unlinked, its target kept") {
    const fs::path fake = t.path / "state/run-h-2-abcdef";
    fs::create_directory_symlink(outside, fake);
    relay::remove_tree(fake.string());
    CHECK(!fs::exists(fs::symlink_status(fake)));
    CHECK(read(outside / "precious") == "keep me");
    CHECK(read(outside / "dir/also") == "keep me too");
  }
}

TEST_CASE("the stale check removes this host's dead runs only") {
  TempDir t("state-test");
  const std::string dead = std::to_string(dead_pid()), live = std::to_string(::getpid());
  const fs::path state = t.path;
  for (const std::string& name : {"run-here-" + dead + "-aaaaaa", "run-here-" + live + "-bbbbbb",
                                 "run-there-" + dead + "-cccccc", "run-my-host-" + dead + "-dddddd",
                                 "run-" + dead + "-eeeeee", std::string("treesync-relay-0123")}) {
    fs::create_directory(state / name);
    write(state / name / "archive.spool", "x");
  }
  relay::remove_stale_runs(state.string(), "here");
  CHECK(!fs::exists(state / ("run-here-" + dead + "-aaaaaa")));          // ours, its process gone
  CHECK(fs::exists(state / ("run-here-" + live + "-bbbbbb")));           // ours, alive
  CHECK(fs::exists(state / ("run-there-" + dead + "-cccccc")));          // another host's: its PID means nothing here
  CHECK(fs::exists(state / ("run-my-host-" + dead + "-dddddd")));        // another host, with a dash in its name
  CHECK(fs::exists(state / ("run-" + dead + "-eeeeee")));                // no host: from an older relay, maybe elsewhere
  CHECK(fs::exists(state / "treesync-relay-0123"));

  relay::remove_stale_runs(state.string(), "my-host");
  CHECK(!fs::exists(state / ("run-my-host-" + dead + "-dddddd")));
  CHECK(fs::exists(state / ("run-there-" + dead + "-cccccc")));
}

TEST_CASE("run directories are named after the host and the PID") {
  const std::string name = relay::host_name();
  CHECK(!name.empty());
  CHECK(name.find('/') == std::string::npos);
  CHECK(relay::run_dir_template("/s", name) == "/s/run-" + name + "-" + std::to_string(::getpid()) + "-XXXXXX");
}
