// Ctrl-C and SIGTERM: a watcher thread turns them into a flag that every
// worker checks between steps, so each node's relay is closed (and cleans
// up) before treesync exits with 130 or 143. A second signal exits at once.
#pragma once

#include <atomic>

namespace treesync {

// Call in main() before any other thread starts.
void install_shutdown_watcher();
const std::atomic<bool>& shutdown_flag();
int shutdown_exit_code();  // 128 + the signal, or 0 when none arrived

}  // namespace treesync
