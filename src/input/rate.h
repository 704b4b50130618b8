// Rates as operators write them (--limit-rate, --source-limit, the
// inventory's `limit:`). A bare K/M/G suffix means bits per second, as
// network gear and tc count (50M = 50 Mbit/s); bytes must say so (6MB/s,
// 6MiB/s). Everything is held in bits per second.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace treesync {

// What a rate may look like, for error messages.
extern const char* const kRateExamples;

// Bits per second, or nothing for text that is not a rate (or is 0, or
// above 1 Tbit/s).
std::optional<std::uint64_t> parse_rate(const std::string& text);

// "50 Mbit/s", "1.5 Gbit/s", "800 kbit/s".
std::string rate_text(std::uint64_t bits_per_second);

}  // namespace treesync
