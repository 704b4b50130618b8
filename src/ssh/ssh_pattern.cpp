#include "src/ssh/ssh_pattern.h"

#include <cctype>
#include <sstream>

namespace treesync {
namespace {

bool wildcard_at(const char* pattern, const char* text) {
  if (*pattern == '\0') return *text == '\0';
  if (*pattern == '*') return wildcard_at(pattern + 1, text) || (*text && wildcard_at(pattern, text + 1));
  if (*text == '\0') return false;
  return (*pattern == '?' || *pattern == *text) && wildcard_at(pattern + 1, text + 1);
}

}  // namespace

bool wildcard_match(const std::string& pattern, const std::string& text) {
  return wildcard_at(pattern.c_str(), text.c_str());
}

bool pattern_list_matches(const std::vector<std::string>& patterns,
                          const std::function<bool(const std::string&)>& hit) {
  bool matched = false;
  for (const std::string& p : patterns) {
    bool negated = !p.empty() && p[0] == '!';
    if (!hit(negated ? p.substr(1) : p)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split_commas(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream in(list);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  return parts;
}

}  // namespace treesync
