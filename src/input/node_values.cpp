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

}  // namespace treesync
