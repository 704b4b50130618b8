// The two kinds of failure the command distinguishes by exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace treesync {

// Text from the user or a node, fit to quote in a one-line message: control
// characters are shown escaped ("\n", "\x1b"). With keep_lines, newlines and
// tabs stay (a log line), and only what could drive a terminal is escaped.
inline std::string printable(const std::string& text, bool keep_lines = false) {
  std::string out;
  for (unsigned char c : text) {
    if (keep_lines && (c == '\n' || c == '\t')) out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else out += static_cast<char>(c);
  }
  return out;
}

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
