// The source keeps a few descriptors per node for the whole run (its SSH
// session, the socket of the edge it feeds, a tunnel's socket pair, the
// cache files a sender reads): around a thousand nodes that passes the
// usual soft limit of 1024, and connect() would fail with no useful reason.
#pragma once

#include <cstddef>

namespace treesync {

// Descriptors a run over `nodes` nodes may hold at once.
std::size_t fds_needed(std::size_t nodes);

// Raises the soft open-file limit to fds_needed(nodes) (never lowers it);
// throws UsageError naming the hard limit and the fix when that is too low.
void ensure_fd_limit(std::size_t nodes);

}  // namespace treesync
