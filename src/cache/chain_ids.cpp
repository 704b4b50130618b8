#include "src/cache/chain_ids.h"

#include <openssl/sha.h>

namespace treesync {

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return wire::to_hex(digest, sizeof digest);
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& diff : diff_ids)
    out.push_back(out.empty() ? diff : "sha256:" + sha256_hex(out.back() + " " + diff));
  return out;
}

std::set<std::string> node_chains(const wire::Json& layer_lists) {
  std::set<std::string> out;
  for (const auto& list : layer_lists) {
    if (!list.is_array()) continue;
    std::vector<std::string> diffs;
    for (const auto& d : list)
      if (d.is_string()) diffs.push_back(d.get<std::string>());
    for (auto& c : chain_ids(diffs)) out.insert(std::move(c));
  }
  return out;
}

}  // namespace treesync
