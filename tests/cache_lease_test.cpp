// The source's layer cache directory: which directories treesync takes as
// its cache (it deletes files there), the modes it leaves, and the lock
// that keeps one run from pruning what another is sending. The lock tests
// fork: flock locks belong to open files, so each run is its own process.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "src/cache/cache_lease.h"
#include "src/errors.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;
using treesync::CacheLease;
using namespace std::chrono_literals;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

std::string refusal(const fs::path& dir, bool is_default) {
  try {
    CacheLease::open(dir.string(), is_default, 0ms);
  } catch (const treesync::UsageError& e) {
    return e.what();
  }
  return "";
}

// A one-byte message between the test and its forked child.
struct Pipe {
  int fd[2];
  Pipe() { REQUIRE(::pipe(fd) == 0); }
  ~Pipe() { ::close(fd[0]), ::close(fd[1]); }
  void say(char c) { REQUIRE(::write(fd[1], &c, 1) == 1); }
  char hear() {
    char c = 0;
    return ::read(fd[0], &c, 1) == 1 ? c : '?';
  }
};

int exit_code(pid_t child) {
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("a new cache directory is made 0700 and marked") {
  TempDir t("lease-test");
  const fs::path dir = t.path / "a/b/cache";
  auto lease = CacheLease::open(dir.string(), false, 0ms);
  CHECK(lease->mode() == CacheLease::Mode::Owner);
  CHECK(mode_of(dir) == 0700);
  CHECK(fs::exists(dir / ".treesync-cache"));
  CHECK(mode_of(dir / "layers") == 0700);
  CHECK(mode_of(dir / "configs") == 0700);
  CHECK(CacheLease::held(dir.string()) == lease.get());
  lease.reset();
  CHECK(CacheLease::held(dir.string()) == nullptr);
}

TEST_CASE("an existing directory keeps its mode") {
  TempDir t("lease-test");
  const fs::path dir = t.path / "mine";
  fs::create_directory(dir);
  ::chmod(dir.c_str(), 0755);
  auto lease = CacheLease::open(dir.string(), false, 0ms);
  CHECK(mode_of(dir) == 0755);
  CHECK(fs::exists(dir / ".treesync-cache"));
  CHECK(mode_of(dir / "layers") == 0700);  // made by treesync, so private
  lease.reset();
  ::chmod(dir.c_str(), 0750);
  lease = CacheLease::open(dir.string(), false, 0ms);  // marked now: taken again, as it is
  CHECK(mode_of(dir) == 0750);
}

TEST_CASE("--cache-dir refuses a non-empty directory that is not a treesync cache, and leaves it untouched") {
  TempDir t("lease-test");
  const fs::path dir = t.path / "home";
  fs::create_directory(dir);
  ::chmod(dir.c_str(), 0755);
  touch(dir / "notes.txt");
  const std::string why = refusal(dir, false);
  CHECK(why.find("--cache-dir " + dir.string() + " holds 'notes.txt'") == 0);
  CHECK(why.find("no .treesync-cache file") != std::string::npos);
  CHECK(why.find("give an empty or new directory, such as --cache-dir " + (dir / "treesync").string()) != std::string::npos);
  CHECK(why.find('\n') == std::string::npos);
  CHECK(mode_of(dir) == 0755);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);  // no marker, no lock file

  SECTION("a lone layers/ is somebody's own") {
    fs::remove(dir / "notes.txt");
    fs::create_directory(dir / "layers");
    touch(dir / "layers/photo.tar");
    CHECK(refusal(dir, false).find("holds 'layers' alone") != std::string::npos);
    CHECK(fs::exists(dir / "layers/photo.tar"));
  }
  SECTION("a file is not a directory") {
    CHECK(refusal(dir / "notes.txt", false).find("is not a directory") != std::string::npos);
  }
  SECTION("the default directory with a stranger in it is refused too, naming the fix") {
    CHECK(refusal(dir, true).find("move it away, or give --cache-dir DIR") != std::string::npos);
  }
}

TEST_CASE("a cache an older treesync made (no marker) is adopted") {
  TempDir t("lease-test");
  const fs::path dir = t.path / "cache";
  for (const char* sub : {"layers", "configs"}) fs::create_directories(dir / sub);
  touch(dir / "layers/aa.tar");
  touch(dir / "configs/bb.json");

  SECTION("given with --cache-dir") {
    auto lease = CacheLease::open(dir.string(), false, 0ms);
    CHECK(fs::exists(dir / ".treesync-cache"));
    CHECK(fs::exists(dir / "layers/aa.tar"));
  }
  SECTION("the default one, with whole archives and a relay's files beside it (the source is also a node)") {
    fs::create_directories(dir / "archives");
    touch(dir / "archives/old.tar");
    touch(dir / "treesync-relay-0123abcd");
    fs::create_directories(dir / "run-src-12-abcdef");
    auto lease = CacheLease::open(dir.string(), true, 0ms);
    CHECK(fs::exists(dir / ".treesync-cache"));
    CHECK(!fs::exists(dir / "archives"));
    CHECK(fs::exists(dir / "treesync-relay-0123abcd"));
    CHECK(fs::exists(dir / "run-src-12-abcdef"));
    CHECK(fs::exists(dir / "configs/bb.json"));
  }
}

TEST_CASE("a second run waits, then shares the cache; nobody prunes while it is shared") {
  TempDir t("lease-test");
  const std::string dir = (t.path / "cache").string();
  auto owner = CacheLease::open(dir, false, 0ms);
  REQUIRE(owner->mode() == CacheLease::Mode::Owner);
  Pipe to_test, to_child;
  const auto t0 = std::chrono::steady_clock::now();
  pid_t child = ::fork();
  if (child == 0) {
    int rc = 0;
    try {
      auto second = CacheLease::open(dir, false, 400ms);
      if (second->mode() != CacheLease::Mode::Sharer) rc = 1;
      if (second->holder() != ::getppid()) rc = 2;
      if (second->prune_if_alone([] {})) rc = 3;
      char c = rc ? 'F' : 'S';
      if (::write(to_test.fd[1], &c, 1) != 1) rc = 4;
      to_child.hear();  // hold the cache until the test has tried to prune
    } catch (...) {
      rc = 5;
    }
    ::_exit(rc);
  }
  CHECK(to_test.hear() == 'S');
  CHECK(std::chrono::steady_clock::now() - t0 >= 400ms);  // it waited before sharing
  bool pruned = false;
  CHECK(!owner->prune_if_alone([&] { pruned = true; }));
  CHECK(!pruned);
  to_child.say('x');
  CHECK(exit_code(child) == 0);
  CHECK(owner->prune_if_alone([&] { pruned = true; }));  // alone again
  CHECK(pruned);
}

TEST_CASE("a waiting run owns the cache once the owner leaves") {
  TempDir t("lease-test");
  const std::string dir = (t.path / "cache").string();
  Pipe to_test;
  pid_t child = ::fork();
  if (child == 0) {
    int rc = 0;
    try {
      auto first = CacheLease::open(dir, false, 0ms);
      char c = first->mode() == CacheLease::Mode::Owner ? 'O' : 'F';
      if (::write(to_test.fd[1], &c, 1) != 1) rc = 4;
      ::usleep(300000);
    } catch (...) {
      rc = 5;
    }
    ::_exit(rc);  // the lock goes with the process
  }
  REQUIRE(to_test.hear() == 'O');
  auto second = CacheLease::open(dir, false, 10s);
  CHECK(second->mode() == CacheLease::Mode::Owner);
  CHECK(second->holder() == child);
  CHECK(exit_code(child) == 0);
}
