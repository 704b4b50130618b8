#include "src/input/rate.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>

namespace treesync {

const char* const kRateExamples = "50M or 50Mbit (50 Mbit/s), 1G, 800K, 6MB/s or 6MiB/s (bytes per second)";

std::optional<std::uint64_t> parse_rate(const std::string& text) {
  // A number, then the unit: [kKmMgG] with nothing, "bit", "bit/s" or "bps"
  // for bits; KB/s, MB/s, GB/s (powers of 1000) or KiB/s, MiB/s, GiB/s for
  // bytes. "Mb/s" and a bare number are refused: which one was meant is a guess.
  static const std::regex re(R"(([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG])(?:(bit|bit/s|bps)|(B/s|iB/s))?)");
  static const std::map<char, double> decimal = {{'k', 1e3}, {'m', 1e6}, {'g', 1e9}};
  static const std::map<char, double> binary = {{'k', 1024.0}, {'m', 1048576.0}, {'g', 1073741824.0}};
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  const char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(m[2].str()[0])));
  double bps = std::stod(m[1].str());
  if (!m[4].matched) bps *= decimal.at(prefix);
  else if (m[4].str() == "B/s") bps *= decimal.at(prefix) * 8;
  else bps *= binary.at(prefix) * 8;
  if (!(bps >= 1) || bps > 1e12) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bps));
}

std::string rate_text(std::uint64_t bits_per_second) {
  const double b = static_cast<double>(bits_per_second);
  const char* unit = b >= 1e9 ? "Gbit/s" : b >= 1e6 ? "Mbit/s" : "kbit/s";
  const double v = b >= 1e9 ? b / 1e9 : b >= 1e6 ? b / 1e6 : b / 1e3;
  char out[32];
  std::snprintf(out, sizeof out, "%.4g %s", v, unit);
  return out;
}

}  // namespace treesync
