#include "src/ssh/known_hosts.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "src/ssh/ssh_pattern.h"
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

// One known_hosts line that OpenSSH would use: "[@marker] hosts type base64 [comment]".
struct Entry {
  enum class Marker { None, CertAuthority, Revoked } marker = Marker::None;
  std::string hosts, type, blob;  // blob: the decoded key, SSH wire format
};

// The line as OpenSSH's hostkeys_foreach reads it, or nothing for a comment,
// a blank line, an unknown marker, or a key that does not decode to its type.
std::optional<Entry> parse_line(const std::string& line) {
  std::istringstream in(line.substr(0, line.find_first_of("\r\n")));
  Entry e;
  std::string first, key;
  if (!(in >> first) || first[0] == '#') return std::nullopt;
  if (first[0] == '@') {
    if (first == "@cert-authority") e.marker = Entry::Marker::CertAuthority;
    else if (first == "@revoked") e.marker = Entry::Marker::Revoked;
    else return std::nullopt;
    if (!(in >> first)) return std::nullopt;
  }
  e.hosts = first;
  if (!(in >> e.type >> key)) return std::nullopt;
  e.blob = wire::base64_decode(key).value_or("");
  // The blob starts with its own type name (uint32 length, then the name).
  const auto& b = e.blob;
  if (b.size() < 4) return std::nullopt;
  std::size_t len = (std::size_t(static_cast<unsigned char>(b[0])) << 24) |
                    (std::size_t(static_cast<unsigned char>(b[1])) << 16) |
                    (std::size_t(static_cast<unsigned char>(b[2])) << 8) | static_cast<unsigned char>(b[3]);
  if (len > b.size() - 4 || b.compare(4, len, e.type) != 0 || len != e.type.size()) return std::nullopt;
  return e;
}

// Calls f(line number from 1, entry) for each line OpenSSH would use.
void for_each_entry(std::istream& in, const std::function<void(int, const Entry&)>& f) {
  int n = 0;
  for (std::string line; std::getline(in, line);)
    if (auto e = parse_line(line); ++n, e) f(n, *e);
}

}  // namespace

bool host_field_matches(const std::string& field, const std::string& host, int port) {
  const std::string name = lowercase(port == 22 ? host : "[" + host + "]:" + std::to_string(port));
  return pattern_list_matches(split_commas(field), [&](const std::string& pattern) {
    return pattern.rfind("|1|", 0) == 0 ? hashed_matches(pattern, name) : wildcard_match(lowercase(pattern), name);
  });
}

std::vector<std::string> known_key_types(const std::vector<std::string>& paths, const std::string& host, int port) {
  std::vector<std::string> types;
  for (const auto& path : paths) {
    std::ifstream in(path);
    for_each_entry(in, [&](int, const Entry& e) {
      if (e.marker == Entry::Marker::None && host_field_matches(e.hosts, host, port) &&
          std::find(types.begin(), types.end(), e.type) == types.end())
        types.push_back(e.type);
    });
  }
  return types;
}

HostKeyCheck check_host_key(const std::string& known_hosts_text, const std::string& host, int port,
                            const std::string& key_type, const std::string& key_blob) {
  int revoked = 0, match = 0, changed = 0, ca = 0;
  std::istringstream in(known_hosts_text);
  for_each_entry(in, [&](int n, const Entry& e) {
    auto first = [n](int& at) { at = at ? at : n; };
    if (e.marker == Entry::Marker::Revoked) {
      if (e.blob == key_blob) first(revoked);  // whatever names the line gives
      return;
    }
    if (!host_field_matches(e.hosts, host, port)) return;
    if (e.marker == Entry::Marker::CertAuthority) first(ca);
    else if (e.type == key_type) first(e.blob == key_blob ? match : changed);
  });
  if (revoked) return {HostKeyVerdict::Revoked, revoked, ""};
  if (match) return {HostKeyVerdict::Match, match, ""};
  if (changed) return {HostKeyVerdict::Changed, changed, ""};
  if (ca) return {HostKeyVerdict::CertAuthority, ca, ""};
  return {HostKeyVerdict::NotFound, 0, ""};
}

HostKeyCheck check_host_key_files(const std::vector<std::string>& paths, const std::string& host, int port,
                                  const std::string& key_type, const std::string& key_blob) {
  std::string text;
  std::vector<std::pair<int, std::string>> starts;  // (first line in `text`, file)
  int lines = 0;
  for (const auto& path : paths) {
    std::ifstream in(path);
    std::stringstream file;
    file << in.rdbuf();
    std::string t = file.str();
    if (!t.empty() && t.back() != '\n') t += '\n';
    starts.emplace_back(lines + 1, path);
    lines += static_cast<int>(std::count(t.begin(), t.end(), '\n'));
    text += t;
  }
  HostKeyCheck check = check_host_key(text, host, port, key_type, key_blob);
  for (auto it = starts.rbegin(); check.line && it != starts.rend(); ++it)
    if (check.line >= it->first) {
      check.line -= it->first - 1;
      check.file = it->second;
      break;
    }
  return check;
}

}  // namespace treesync
