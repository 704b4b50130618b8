#include "src/ssh/ssh_config.h"

#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "src/errors.h"
#include "src/input/home.h"
#include "src/ssh/ssh_pattern.h"

namespace treesync {
namespace {

// ssh gives up on Include chains deeper than this (READCONF_MAX_DEPTH).
constexpr int max_include_depth = 16;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

// One config line as readconf.c splits it: the keyword (lowercased), ended by
// whitespace or one '=', then arguments split at whitespace, with "double"
// or 'single' quotes grouping and a '#' starting a token ending the line.
struct Line {
  std::string keyword;
  std::vector<std::string> args;
};

std::optional<Line> split_line(const std::string& text, const std::function<void(const std::string&)>& fail) {
  std::size_t i = 0, n = text.size();
  while (i < n && is_space(text[i])) ++i;
  if (i == n || text[i] == '#') return std::nullopt;
  Line line;
  while (i < n && !is_space(text[i]) && text[i] != '=') line.keyword += text[i++];
  line.keyword = lowercase(line.keyword);
  while (i < n && is_space(text[i])) ++i;
  if (i < n && text[i] == '=') ++i;
  while (true) {
    while (i < n && is_space(text[i])) ++i;
    if (i == n || text[i] == '#') break;
    std::string arg;
    char quote = 0;
    for (; i < n && (quote || !is_space(text[i])); ++i) {
      char c = text[i];
      if (c == '\\' && i + 1 < n && (text[i + 1] == '\\' || text[i + 1] == '"' || text[i + 1] == '\'' ||
                                     (!quote && is_space(text[i + 1])))) {
        arg += text[++i];
      } else if (quote && c == quote) {
        quote = 0;
      } else if (!quote && (c == '"' || c == '\'')) {
        quote = c;
      } else {
        arg += c;
      }
    }
    if (quote) fail("unterminated quote");
    line.args.push_back(arg);
  }
  return line;
}

// "30", "1m30s": ssh's convtime (seconds, minutes, hours, days, weeks).
std::optional<int> parse_time(const std::string& s) {
  static const std::map<char, long> unit = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
  long total = 0;
  std::size_t i = 0;
  if (s.empty()) return std::nullopt;
  while (i < s.size()) {
    std::size_t start = i;
    long value = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && value < 1000000000)
      value = value * 10 + (s[i++] - '0');
    if (i == start) return std::nullopt;
    long scale = 1;
    if (i < s.size()) {
      auto u = unit.find(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i++]))));
      if (u == unit.end()) return std::nullopt;
      scale = u->second;
    }
    total += value * scale;
    if (total > 0x7fffffff) return std::nullopt;
  }
  return static_cast<int>(total);
}

// %-tokens of value from `tokens` ('%' itself included); any other is an
// error, as in ssh's percent_expand.
std::string percent_expand(const std::string& value, const std::map<char, std::string>& tokens,
                           const std::string& what) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out += value[i];
      continue;
    }
    auto t = i + 1 < value.size() ? tokens.find(value[i + 1]) : tokens.end();
    if (t == tokens.end())
      throw UsageError(what + " \"" + printable(value) + "\": unknown %-token (known: " + [&] {
        std::string known;
        for (auto& [k, v] : tokens) known += std::string(known.empty() ? "%" : " %") + k;
        return known;
      }() + ")");
    out += t->second;
    ++i;
  }
  return out;
}

std::string expand_tilde(const std::string& path, const std::string& home, const std::string& what) {
  if (path == "~") return home;
  if (path.rfind("~/", 0) == 0) return home + path.substr(1);
  if (!path.empty() && path[0] == '~')
    throw UsageError(what + " \"" + printable(path) + "\": ~user paths are not supported (write the full path)");
  return path;
}

// The values found so far; unset ones are still open (first obtained wins).
struct Found {
  std::optional<std::string> hostname, user, strict, proxy_command;
  std::optional<int> port;
  std::optional<bool> identities_only;
  std::optional<std::vector<std::string>> proxy_jump, known_hosts;
  std::optional<std::optional<int>> connect_timeout;
  std::vector<std::string> identity_files;
};

class Reader {
 public:
  Reader(const std::string& host, const SshLocal& local, const SshIncludeReader& include)
      : host_(host), local_(local), include_(include) {}

  void read(const std::string& text, const std::string& path, int depth, bool never_match) {
    std::istringstream in(text);
    int number = 0;
    for (std::string raw; std::getline(in, raw);) {
      ++number;
      auto fail = [&](const std::string& why) {
        throw UsageError("ssh config " + path + " line " + std::to_string(number) + ": " + why);
      };
      auto line = split_line(raw, fail);
      if (!line || line->keyword.empty()) continue;
      apply(*line, fail, depth, never_match);
    }
  }

  const Found& found() const { return found_; }

 private:
  template <class T>
  void first(std::optional<T>& slot, T value) {
    if (active_ && !slot) slot = std::move(value);
  }

  void apply(const Line& line, const std::function<void(const std::string&)>& fail, int depth, bool never_match) {
    const std::string& k = line.keyword;
    const auto& args = line.args;
    auto one = [&]() -> const std::string& {
      if (args.empty()) fail(k + " needs a value");
      if (args.size() > 1) fail(k + " takes one value, got " + std::to_string(args.size()));
      return args[0];
    };
    if (k == "host") {
      if (args.empty()) fail("Host needs at least one pattern");
      active_ = !never_match &&
                pattern_list_matches(args, [&](const std::string& p) { return wildcard_match(p, host_); });
    } else if (k == "match") {
      active_ = match(args, fail) && !never_match;
    } else if (k == "include") {
      if (args.empty()) fail("Include needs a file");
      if (depth >= max_include_depth) fail("Include nested too deeply (more than 16 levels)");
      bool was_active = active_;
      for (const std::string& arg : args) {
        std::string pattern = arg[0] == '/' || arg[0] == '~' ? expand_tilde(arg, local_.home, "Include")
                                                             : local_.home + "/.ssh/" + arg;
        for (const SshConfigFile& file : include_(pattern)) read(file.text, file.path, depth + 1, !was_active);
      }
    } else if (k == "hostname") {
      first(found_.hostname, one());
    } else if (k == "user") {
      first(found_.user, one());
    } else if (k == "port") {
      const std::string& v = one();
      bool digits = !v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == std::string::npos;
      int port = digits ? std::stoi(v) : 0;
      if (port < 1 || port > 65535) fail("bad Port \"" + printable(v) + "\" (1 to 65535)");
      first(found_.port, port);
    } else if (k == "identityfile") {
      const std::string& v = one();
      bool seen = false;
      for (const auto& f : found_.identity_files) seen = seen || f == v;
      if (active_ && !seen) found_.identity_files.push_back(v);  // ssh skips repeats
    } else if (k == "identitiesonly") {
      first(found_.identities_only, flag(one(), fail));
    } else if (k == "proxyjump") {
      const std::string& v = one();
      first(found_.proxy_jump, v == "none" ? std::vector<std::string>{} : split_commas(v));
    } else if (k == "proxycommand") {
      if (args.empty()) fail("ProxyCommand needs a command");
      std::string command;
      for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
      first(found_.proxy_command, command == "none" ? std::string() : command);
    } else if (k == "userknownhostsfile") {
      if (args.empty()) fail("UserKnownHostsFile needs a file");
      first(found_.known_hosts, args);
    } else if (k == "stricthostkeychecking") {
      std::string v = lowercase(one());
      if (v == "yes" || v == "true") v = "yes";
      else if (v == "no" || v == "false" || v == "off") v = "no";
      else if (v != "ask" && v != "accept-new") fail("bad StrictHostKeyChecking \"" + printable(v) + "\"");
      first(found_.strict, v);
    } else if (k == "connecttimeout") {
      const std::string& v = one();
      std::optional<int> seconds = v == "none" ? std::nullopt : parse_time(v);
      if (v != "none" && !seconds) fail("bad ConnectTimeout \"" + printable(v) + "\" (seconds, or 1m30s)");
      first(found_.connect_timeout, seconds);
    }
    // Every other keyword is an OpenSSH option treesync does not use.
  }

  static bool flag(const std::string& v, const std::function<void(const std::string&)>& fail) {
    std::string l = lowercase(v);
    if (l == "yes" || l == "true") return true;
    if (l != "no" && l != "false") fail("\"" + printable(v) + "\" is not yes or no");
    return false;
  }

  // "Match [!]host LIST [!]originalhost LIST ..." or "Match all": every
  // criterion must hold. `host` is HostName (with %h) if already set, as in
  // readconf.c's match_cfg_line; lists compare with lowercased patterns.
  bool match(const std::vector<std::string>& args, const std::function<void(const std::string&)>& fail) {
    if (args.empty()) fail("Match needs criteria (all, host, originalhost)");
    if (lowercase(args[0]) == "all") {
      if (args.size() > 1) fail("Match all takes nothing after it");
      return true;
    }
    bool result = true;
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string criterion = lowercase(args[i]);
      bool negated = !criterion.empty() && criterion[0] == '!';
      if (negated) criterion.erase(0, 1);
      if (criterion != "host" && criterion != "originalhost")
        fail("Match " + printable(args[i]) + " is not supported (only all, host, originalhost)");
      if (++i == args.size()) fail("Match " + criterion + " needs patterns");
      std::string name = criterion == "originalhost" || !found_.hostname
                             ? host_
                             : percent_expand(*found_.hostname, {{'h', host_}, {'%', "%"}}, "HostName");
      std::vector<std::string> patterns = split_commas(args[i]);
      for (auto& p : patterns) p = lowercase(p);
      bool hit = pattern_list_matches(patterns, [&](const std::string& p) { return wildcard_match(p, name); });
      if (hit == negated) result = false;
    }
    return result;
  }

  std::string host_;
  const SshLocal& local_;
  const SshIncludeReader& include_;
  bool active_ = true;  // lines before any Host or Match apply to every host
  Found found_;
};

}  // namespace

SshHostConfig resolve_ssh_host(const std::string& config_text, const std::string& path, const std::string& host,
                               const SshLocal& local, const SshIncludeReader& include) {
  Reader reader(host, local, include);
  reader.read(config_text, path, 0, false);
  const Found& f = reader.found();
  SshHostConfig c;
  c.hostname = lowercase(f.hostname ? percent_expand(*f.hostname, {{'h', host}, {'%', "%"}}, "HostName") : host);
  c.user = f.user.value_or(local.user);
  c.port = f.port.value_or(22);
  c.identity_files = f.identity_files;
  // The keys ssh tries when no IdentityFile is given (OpenSSH 9.2).
  if (c.identity_files.empty())
    c.identity_files = {"~/.ssh/id_rsa",        "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
                        "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss",  "~/.ssh/id_dsa"};
  c.identities_only = f.identities_only.value_or(false);
  c.proxy_jump = f.proxy_jump.value_or(std::vector<std::string>{});
  c.proxy_command = f.proxy_command.value_or("");
  c.strict_host_key_checking = f.strict.value_or("ask");
  c.connect_timeout = f.connect_timeout.value_or(std::nullopt);
  for (auto [keyword, set] : {std::pair<const char*, bool>{"hostname", bool(f.hostname)},
                               {"user", bool(f.user)},
                               {"port", bool(f.port)},
                               {"identityfile", !f.identity_files.empty()},
                               {"identitiesonly", bool(f.identities_only)},
                               {"proxyjump", bool(f.proxy_jump)},
                               {"userknownhostsfile", bool(f.known_hosts)},
                               {"stricthostkeychecking", bool(f.strict)},
                               {"connecttimeout", bool(f.connect_timeout)}})
    if (set) c.given.insert(keyword);
  for (const std::string& file :
       f.known_hosts.value_or(std::vector<std::string>{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}))
    c.user_known_hosts_files.push_back(expand_ssh_path(file, c, local));
  return c;
}

std::string expand_ssh_path(const std::string& value, const SshHostConfig& resolved, const SshLocal& local) {
  return percent_expand(expand_tilde(value, local.home, "ssh config path"),
                        {{'h', resolved.hostname},
                         {'p', std::to_string(resolved.port)},
                         {'r', resolved.user},
                         {'u', local.user},
                         {'d', local.home},
                         {'%', "%"}},
                        "ssh config path");
}

SshHop parse_jump_hop(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return UsageError("ProxyJump hop '" + text + "': " + why + " (want [user@]host[:port])");
  };
  std::string rest = text;
  if (rest.rfind("ssh://", 0) == 0) rest.erase(0, 6);
  SshHop hop;
  // ssh splits at the last '@': a user name may hold one.
  if (std::size_t at = rest.rfind('@'); at != std::string::npos) {
    hop.user = rest.substr(0, at);
    rest.erase(0, at + 1);
    if (hop.user.empty()) throw bad("empty user");
  }
  std::string port;
  bool has_port = false;
  if (!rest.empty() && rest[0] == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos) throw bad("unclosed [");
    hop.host = rest.substr(1, close - 1);
    rest.erase(0, close + 1);
    if (!rest.empty() && rest[0] != ':') throw bad("text after ]");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (std::size_t colon = rest.find(':'); colon != std::string::npos) {
    hop.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    has_port = true;
  } else {
    hop.host = rest;
  }
  if (hop.host.empty()) throw bad("no host");
  if (has_port) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      throw bad("bad port '" + port + "'");
    hop.port = std::stoi(port);
    if (hop.port < 1 || hop.port > 65535) throw bad("bad port '" + port + "'");
  }
  return hop;
}

SshLocal ssh_local() {
  const passwd* pw = getpwuid(getuid());
  if (!pw || !pw->pw_name) throw UsageError("no passwd entry for uid " + std::to_string(getuid()));
  return {pw->pw_name, home_dir()};
}

SshHostConfig read_ssh_config(const std::string& path, const std::string& host, const SshLocal& local) {
  auto slurp = [](const std::string& file) {
    std::ifstream in(file);
    if (!in) throw UsageError("cannot read ssh config " + file + " (check the path given to --ssh-config)");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  SshIncludeReader include = [&](const std::string& pattern) {
    std::vector<SshConfigFile> files;
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) files.push_back({g.gl_pathv[i], slurp(g.gl_pathv[i])});
    ::globfree(&g);
    return files;  // a pattern naming no file is no error, as in ssh
  };
  return resolve_ssh_host(slurp(path), path, host, local, include);
}

}  // namespace treesync
