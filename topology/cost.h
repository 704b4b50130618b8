// The cost model: how long the stream part of a run should take, from the
// bytes each node lacks and the rates senders upload at (their caps, and the
// link rate where it is known). Pure code, no I/O (tests/cost_test.cpp).
// Small on purpose: it knows the plain tree and flat mode; striped trees and
// measured rates come later.
//
// Rates are stream bytes per second; 0 means unknown (no cap, link not
// measured). A prediction needs at least one known rate on every node's
// path, or there is none.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "topology/plan.h"

namespace topology {

struct Rates {
  double link = 0;           // every host's link, each way
  double source = 0;         // the source's upload cap
  std::vector<double> node;  // per node: its upload cap when it relays (empty: none)
};

// A sender's upload rate: its cap or its link, whichever is lower (0: neither known).
double upload_rate(double cap, double link);

// Flat mode: the source streams every node's bytes through its own upload.
// --max-workers does not change it: with one link rate for every host, no
// stream can outrun the source's upload, however many share it.
std::optional<double> flat_seconds(const std::vector<std::uint64_t>& bytes, const Rates& rates);

// A tree, pipelined: every sender shares its upload evenly among its
// children, so a node receives at the lowest share along its path (or its
// link, if lower), and its last byte arrives after its bytes at that rate
// plus one chunk's time per relay above it (a relay forwards a chunk once it
// holds it whole). `bytes`: what each node's stream carries.
std::optional<double> tree_seconds(const Plan& plan, const std::vector<std::uint64_t>& bytes, const Rates& rates,
                                   std::uint64_t chunk);

struct Predictions {
  std::optional<double> flat, tree;
};

// Auto mode: the mode predicted faster where both predictions exist (a tie
// keeps the choice below), else flat when there are no more nodes than one
// tree level holds.
Mode choose_mode(std::size_t node_count, int fanout, const Predictions& predicted = {});

}  // namespace topology
