#include "src/cache/chain_ids.h"

#include "src/wire/digest.h"

namespace treesync {

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& diff : diff_ids)
    out.push_back(out.empty() ? diff : wire::sha256_digest(out.back() + " " + diff));
  return out;
}

std::set<std::string> node_chains(const std::vector<std::vector<std::string>>& layer_lists) {
  std::set<std::string> out;
  for (const auto& diffs : layer_lists)
    for (auto& c : chain_ids(diffs)) out.insert(std::move(c));
  return out;
}

}  // namespace treesync
