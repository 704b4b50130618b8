// The source's open-file limit (src/fd_limit.h): raised for the run's
// nodes, and a hard limit too low for them is one line naming it.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/errors.h"
#include "src/fd_limit.h"

TEST_CASE("open-file limit: raised to what the nodes need, never lowered") {
  struct rlimit before;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  const std::size_t nodes = 200;
  if (before.rlim_max != RLIM_INFINITY) REQUIRE(before.rlim_max >= treesync::fds_needed(nodes));
  treesync::ensure_fd_limit(nodes);
  struct rlimit after;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur >= treesync::fds_needed(nodes));
  CHECK(after.rlim_cur >= before.rlim_cur);
  treesync::ensure_fd_limit(1);  // asks for less: nothing changes
  struct rlimit again;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &again) == 0);
  CHECK(again.rlim_cur == after.rlim_cur);
  ::setrlimit(RLIMIT_NOFILE, &before);
}

TEST_CASE("open-file limit: a hard limit below the run's need stops it with the limit and the fix") {
  // In a child: a lowered hard limit cannot be raised again without root.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    struct rlimit low = {512, 512};
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) ::_exit(3);
    try {
      treesync::ensure_fd_limit(1000);
    } catch (const treesync::UsageError& e) {
      const std::string m = e.what();
      ::_exit(m.find("hard limit is 512 (ulimit -Hn)") != std::string::npos &&
                      m.find("8064 open files for 1000 node(s)") != std::string::npos
                  ? 0
                  : 4);
    }
    ::_exit(5);  // no error at all
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
