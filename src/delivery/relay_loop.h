// The source's side of many relays' control channels on a few threads
// instead of one per node (issue 13: a thread per node is 1,000 threads at
// 1,000 nodes). Each thread owns a slice of the relays and waits in poll()
// on their SSH sockets; the caller's step does the rest, never waiting on
// a relay (RemoteRelay::poll_loaded, poll_serving), so one thread keeps up
// with hundreds of them.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "src/ssh/remote_relay.h"

namespace treesync {

// Why a step runs now.
struct RelayTurn {
  bool ready = false;  // the relay sent something, or has posts to send
  bool tick = false;   // a second has passed since this relay's last tick
};

// Item i's step, on the thread that owns relays[i]: returns false once the
// item needs no more turns. It must not throw. It is called about every
// 100 ms even when neither ready nor tick (so it can notice a condition
// others change), and must then return at once.
using RelayStep = std::function<bool(std::size_t i, RelayTurn turn)>;

// Runs until every item is done, on `threads` threads (at most one per
// item). A null relay is an item with nothing to poll: it still gets turns.
void serve_relays(const std::vector<RemoteRelay*>& relays, std::size_t threads, const RelayStep& step);

}  // namespace treesync
