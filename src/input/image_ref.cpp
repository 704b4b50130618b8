#include "src/input/image_ref.h"

#include <regex>

#include "src/errors.h"

namespace treesync {
namespace {

// From distribution/reference's grammar.
const std::string kDomainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const std::string kDomain = kDomainComponent + "(?:\\." + kDomainComponent + ")*(?::[0-9]+)?";
const std::string kPathComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const std::string kName = "(?:" + kDomain + "/)?" + kPathComponent + "(?:/" + kPathComponent + ")*";
const std::string kTag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";

}  // namespace

std::string normalize_image_ref(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return UsageError("image reference '" + printable(text) + "' " + why);
  };
  if (text.empty()) throw bad("is empty");
  if (text.find('@') != std::string::npos)
    throw bad("is a digest reference; treesync applies tags on the nodes, so give name:tag");
  static const std::regex full("(" + kName + ")(?::(" + kTag + "))?");
  std::smatch m;
  if (!std::regex_match(text, m, full))
    throw bad("is not a valid Docker reference (expected name[:tag], e.g. iarnet:latest)");
  std::string name = m[1], tag = m[2].matched ? m[2].str() : "latest";
  if (name.size() > 255) throw bad("has a name longer than 255 characters");
  for (const std::string prefix : {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"}) {
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size()) {
      name = name.substr(prefix.size());
      break;
    }
  }
  return name + ":" + tag;
}

}  // namespace treesync
