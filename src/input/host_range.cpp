#include "src/input/host_range.h"

#include <regex>

#include "src/errors.h"

namespace treesync {
namespace {

constexpr std::size_t kMaxHosts = 10000;

std::vector<std::string> bounds_of(const std::string& pattern, const std::string& range) {
  static const std::regex numeric("([0-9]*):([0-9]+)(?::([0-9]+))?");
  static const std::regex alpha("([A-Za-z]):([A-Za-z])(?::([0-9]+))?");
  auto bad = [&](const std::string& why) {
    return UsageError("host range '" + printable(pattern) + "': " + why +
                      " (expected e.g. node[01:10], node[a:f] or node[0:8:2])");
  };
  std::smatch m;
  const bool is_numeric = std::regex_match(range, m, numeric);
  if (!is_numeric && !std::regex_match(range, m, alpha)) throw bad("[" + printable(range) + "] is not a range");
  const long step = m[3].matched ? std::stol(m[3].str().substr(0, 6)) : 1;
  if (step < 1) throw bad("the step must be at least 1");
  std::vector<std::string> out;
  if (!is_numeric) {
    const char first = m[1].str()[0], last = m[2].str()[0];
    if (first > last) throw bad("[" + range + "] is reversed");
    for (long c = first; c <= last; c += step) out.emplace_back(1, static_cast<char>(c));
    return out;
  }
  const std::string begin = m[1].str().empty() ? "0" : m[1].str(), end = m[2];
  // As Ansible: a begin with a leading zero fixes the width, and the end must have it too.
  const std::size_t width = begin.size() > 1 && begin[0] == '0' ? begin.size() : 0;
  if (width && end.size() != width) throw bad("begin and end must have the same width when zero-padded");
  if (begin.size() > 6 || end.size() > 6) throw bad("the bounds are too large");
  const long lo = std::stol(begin), hi = std::stol(end);
  if (lo > hi) throw bad("[" + range + "] is reversed");
  if ((hi - lo) / step + 1 > static_cast<long>(kMaxHosts)) throw bad("more than 10000 hosts");
  for (long i = lo; i <= hi; i += step) {
    std::string n = std::to_string(i);
    if (n.size() < width) n.insert(0, width - n.size(), '0');
    out.push_back(n);
  }
  return out;
}

// The hosts `rest` (a tail of `whole`, named in errors) names.
std::vector<std::string> expand(const std::string& whole, const std::string& rest) {
  const auto open = rest.find('[');
  const auto close = rest.find(']');
  if (open == std::string::npos && close == std::string::npos) return {rest};
  if (open == std::string::npos || close == std::string::npos || close < open)
    throw UsageError("host range '" + printable(whole) + "': unbalanced [ ]");
  const std::string head = rest.substr(0, open);
  std::vector<std::string> out;
  const std::vector<std::string> tails = expand(whole, rest.substr(close + 1));  // once, not once per middle
  for (const auto& middle : bounds_of(whole, rest.substr(open + 1, close - open - 1)))
    for (const auto& tail : tails) {
      out.push_back(head + middle + tail);
      if (out.size() > kMaxHosts) throw UsageError("host range '" + printable(whole) + "': more than 10000 hosts");
    }
  return out;
}

}  // namespace

std::vector<std::string> expand_host_range(const std::string& pattern) { return expand(pattern, pattern); }

}  // namespace treesync
