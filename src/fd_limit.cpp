#include "src/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "src/errors.h"

namespace treesync {

std::size_t fds_needed(std::size_t nodes) { return 64 + 8 * nodes; }

void ensure_fd_limit(std::size_t nodes) {
  const rlim_t want = fds_needed(nodes);
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= want) return;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want)
    throw UsageError("treesync needs about " + std::to_string(want) + " open files for " + std::to_string(nodes) +
                     " node(s), but the hard limit is " + std::to_string(lim.rlim_max) +
                     " (ulimit -Hn): raise it (LimitNOFILE= in a systemd unit, nofile in "
                     "/etc/security/limits.conf), or select fewer nodes with --nodes");
  lim.rlim_cur = want;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
    throw UsageError("cannot raise the open-file limit to " + std::to_string(want) + " for " +
                     std::to_string(nodes) + " node(s): " + std::strerror(errno));
}

}  // namespace treesync
