// The two kinds of failure the command distinguishes by exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace treesync {

// Bad input, found before any connection: exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failure on one node, at one step ("connect", "probe", "load", ...).
struct NodeError : std::runtime_error {
  NodeError(std::string step, const std::string& message, bool relay_lost = false)
      : std::runtime_error(message), step(std::move(step)), relay_lost(relay_lost) {}
  std::string step;
  // The node's relay is gone or silent: it can no longer forward to others.
  bool relay_lost;
};

}  // namespace treesync
