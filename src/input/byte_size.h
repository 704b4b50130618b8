// Sizes on the command line: "512M", "2G", "64MiB", "1048576".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace treesync {

// Bytes, with an optional binary suffix K, M, G, T (KiB, MiB, GiB, TiB; a
// trailing "B" or "iB" is allowed, case does not matter). nullopt if `text`
// is not such a size or does not fit in 64 bits.
std::optional<std::uint64_t> parse_byte_size(const std::string& text);

}  // namespace treesync
