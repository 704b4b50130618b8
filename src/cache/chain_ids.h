// Layer chain IDs, the names Docker's layer store gives applied layers: a
// layer is present on a node only with the same layers beneath it, so the
// chain, not the diff ID alone, says what a node can skip.
//   chain(1) = diff(1); chain(n) = sha256(chain(n-1) + " " + diff(n))
#pragma once

#include <set>
#include <string>
#include <vector>


namespace treesync {

// One chain ID per layer of an image, from its diff IDs ("sha256:…").
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// Every chain a node holds, from the layer lists its probe reported.
std::set<std::string> node_chains(const std::vector<std::vector<std::string>>& layer_lists);

}  // namespace treesync
