#include "src/delivery/staged_ref.h"

#include <algorithm>
#include <cctype>

#include "src/errors.h"
#include "src/runtime/runtime.h"

namespace treesync {

namespace {
constexpr const char* kDomain = "treesync.invalid/";
constexpr const char* kLast = "/treesync-staged";
}  // namespace

std::string staged_ref(const std::string& ref) {
  const std::string full = runtime::full_name(ref);
  // A normalized reference always has a tag: the last ':' after the last '/'.
  const std::size_t colon = full.rfind(':');
  const std::size_t slash = full.find('/');
  std::string domain = full.substr(0, slash), path = full.substr(slash, colon - slash), tag = full.substr(colon);
  // A domain may hold capitals and a port; a path component may not.
  std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(domain.begin(), domain.end(), ':', '_');
  return kDomain + domain + path + kLast + tag;
}

void check_stageable(const std::vector<std::string>& refs) {
  for (const auto& ref : refs) {
    const std::string name = staged_ref(ref);
    if (name.rfind(':') > 255)
      throw UsageError("image reference '" + ref + "' is too long to stage: its staged name " + name +
                       " passes Docker's 255-character limit on names; use a shorter name");
  }
}

std::vector<std::string> staged_refs(const std::vector<std::string>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(staged_ref(r));
  return out;
}

}  // namespace treesync
