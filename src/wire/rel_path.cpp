#include "src/wire/rel_path.h"

#include "src/wire/protocol.h"

namespace wire {

namespace {

// Shown escaped: the path came from a peer.
std::string shown(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

void check_relative_path(const std::string& path) {
  const auto refuse = [&](const char* why) { throw Error("refusing file path '" + shown(path) + "': " + why); };
  if (path.empty()) refuse("empty");
  if (path.size() > 4096) refuse("longer than PATH_MAX");
  if (path.find('\0') != std::string::npos) refuse("it holds a NUL byte");
  if (path.front() == '/') refuse("absolute");
  for (const std::string& c : path_components(path)) {
    if (c.empty()) refuse("an empty component");
    if (c == "." || c == "..") refuse("a '.' or '..' component");
    if (c.size() > 255) refuse("a component longer than NAME_MAX");
  }
}

std::vector<std::string> path_components(const std::string& path) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

}  // namespace wire
