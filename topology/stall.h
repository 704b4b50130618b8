// When a node that stopped receiving is to blame: pure, so every case is a
// unit test (tests/topology_test.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace topology {

struct Progress {
  std::uint64_t position = 0;  // how far into the whole bundle its bytes reach
  double idle_s = 0;           // seconds since its bytes last grew
  bool complete = false;       // holds its whole stream
  bool waiting = false;        // its edge has not started yet (the source's workers are busy)
  bool alive = true;           // its relay still answers
};

// A node whose bytes have not grown for `stall_s` is stalled only if its
// parent had bytes to give and was itself moving: a node starved by a dead
// or stalled parent is moved when that parent is, not blamed. The source is
// always live and ahead: pass nullptr for it.
bool stalled(const Progress& node, const Progress* parent, double stall_s);

// A striped node's load reads the stripes in turn, so a stripe whose spool
// window is full waits for the one the load is at: when stripe s of a node
// has stalled, the stripe it waits for, if that one is the node's least
// advanced, still grows (a parent that trickles) or waits for its edge to
// start, and is far enough behind
// s that s can only be held by a full window (`window`, its share of the
// spool, less two units); else -1. stripes: the node's progress per stripe,
// positions in each stripe's stream.
int held_back_by(const std::vector<Progress>& stripes, int s, std::uint64_t window, std::uint64_t unit,
                 double stall_s);

// Striped trees: a node's stripe `limit` bytes or more behind its other
// stripes makes its parent in that stripe a slow forwarder, but only for the
// lag the parent does not share. A parent as far behind in the same stripe
// (starved by its own slow parent, or just re-parented with the node) is not
// slow itself: its parent is blamed, or the lag shrinks as it catches up.
// A lag: the most bytes any of a node's stripes holds, less this stripe's.
bool slow_forwarder(std::uint64_t node_lag, std::uint64_t parent_lag, std::uint64_t limit);

}  // namespace topology
