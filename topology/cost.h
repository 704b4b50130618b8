// The cost model: how long the stream part of a run should take, from the
// bytes each node lacks and the rates senders upload at (their caps, and the
// link rate where it is known). Pure code, no I/O (tests/cost_test.cpp).
// Small on purpose: flat mode, the plain tree and striped trees, with one
// link rate for every host; measured rates come later.
//
// Rates are stream bytes per second; 0 means unknown (no cap, link not
// measured). A prediction needs at least one known rate on every node's
// path, or there is none. With no rate known at all, a run is predicted in
// units of one copy's time on a link (link = 1): equal links are what a
// cluster mostly has, and the modes still compare.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "topology/plan.h"
#include "topology/stripes.h"

namespace topology {

struct Rates {
  double link = 0;           // every host's link, each way
  double source = 0;         // the source's upload cap
  std::vector<double> node;  // per node: its upload cap when it relays (empty: none)
  std::vector<double> down;  // per node: its downlink (empty: none)
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

// Striped trees: every node's stream is `bytes`, cut into the trees'
// stripes; a sender shares its upload evenly among its edges in all trees,
// a stripe arrives at the lowest share along its path, and a node's last
// byte after its slowest stripe (plus a chunk's time per relay above it),
// or after its bytes at its link's rate, whichever is later.
std::optional<double> stripes_seconds(const Stripes& stripes, std::uint64_t bytes, const Rates& rates,
                                      std::uint64_t chunk);

// The median of the known (non-zero) rates; 0 if none is known.
double median_known(std::vector<double> rates);

// Nodes to keep from forwarding in striped trees: an uplink below a third
// of the median of the known ones would hold its children's stripe to it.
// `up`: per node, its upload rate (0: unknown, never slow).
std::vector<bool> slow_uploaders(const std::vector<double>& up);

struct Predictions {
  std::optional<double> flat, tree, stripes;
  bool relative = false;  // in units of one copy's time on a link: no rate was known
  std::optional<double> of(Mode mode) const;
};

// Auto mode: the mode predicted fastest; a tie goes to the simpler (flat,
// then stripes, then the plain tree). Without predictions: flat for one
// node, else stripes.
Mode choose_mode(std::size_t node_count, const Predictions& predicted = {});

}  // namespace topology
