#include "src/ssh/known_hosts.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "src/wire/base64.h"

namespace treesync {
namespace {

// "|1|base64(salt)|base64(HMAC-SHA1(salt, name))"
bool hashed_matches(const std::string& entry, const std::string& name) {
  std::size_t bar = entry.find('|', 3);
  if (entry.rfind("|1|", 0) != 0 || bar == std::string::npos) return false;
  std::string salt = wire::base64_decode(entry.substr(3, bar - 3)).value_or("");
  std::string want = wire::base64_decode(entry.substr(bar + 1)).value_or("");
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()),
       name.size(), mac, &len);
  return want.size() == len && std::equal(want.begin(), want.end(), reinterpret_cast<const char*>(mac));
}

// OpenSSH patterns know only '*' and '?' ("[host]:port" is literal text).
bool wildcard_match(const char* pattern, const char* text) {
  if (*pattern == '\0') return *text == '\0';
  if (*pattern == '*') return wildcard_match(pattern + 1, text) || (*text && wildcard_match(pattern, text + 1));
  if (*text == '\0') return false;
  return (*pattern == '?' || *pattern == *text) && wildcard_match(pattern + 1, text + 1);
}

}  // namespace

bool host_field_matches(const std::string& field, const std::string& host, int port) {
  const std::string name = port == 22 ? host : "[" + host + "]:" + std::to_string(port);
  bool matched = false;
  std::stringstream in(field);
  std::string pattern;
  while (std::getline(in, pattern, ',')) {
    bool negated = !pattern.empty() && pattern[0] == '!';
    if (negated) pattern.erase(0, 1);
    bool hit = pattern.rfind("|1|", 0) == 0 ? hashed_matches(pattern, name)
                                             : wildcard_match(pattern.c_str(), name.c_str());
    if (hit && negated) return false;
    matched = matched || hit;
  }
  return matched;
}

std::vector<std::string> known_key_types(const std::string& known_hosts_path, const std::string& host, int port) {
  std::vector<std::string> types;
  std::ifstream in(known_hosts_path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string hosts, type;
    if (!(fields >> hosts >> type) || hosts[0] == '#' || hosts[0] == '@') continue;
    if (host_field_matches(hosts, host, port) && std::find(types.begin(), types.end(), type) == types.end())
      types.push_back(type);
  }
  return types;
}

}  // namespace treesync
