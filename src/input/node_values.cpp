#include "src/input/node_values.h"

namespace treesync {

const std::regex& name_pattern() {
  static const std::regex re("[A-Za-z][A-Za-z0-9._-]{0,62}");
  return re;
}

const std::regex& host_pattern() {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9.:-]{0,252}");
  return re;
}

const std::regex& user_pattern() {
  static const std::regex re("[a-z_][a-z0-9_.-]{0,31}");
  return re;
}

std::optional<int> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int n = std::stoi(text);
  if (n < 1 || n > 65535) return std::nullopt;
  return n;
}

}  // namespace treesync
