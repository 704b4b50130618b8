// OpenSSH's host patterns, shared by known_hosts and ssh_config so both read
// a pattern exactly as OpenSSH's match.c does.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace treesync {

// Does text match pattern? Only '*' (any run) and '?' (one character) are
// special; everything else, "[host]:port" included, is literal.
bool wildcard_match(const std::string& pattern, const std::string& text);

// A list of patterns, each possibly negated with a leading '!': true when
// some plain pattern hits and no negated one does (a negated hit vetoes the
// whole list, whatever comes before or after it). `hit` decides one pattern
// (without its '!'), so callers choose case folding or hashed names.
bool pattern_list_matches(const std::vector<std::string>& patterns,
                          const std::function<bool(const std::string&)>& hit);

// OpenSSH lowercases host names (and some patterns) before matching.
std::string lowercase(std::string s);

// "a,b,!c" split at commas, the form of known_hosts fields and Match lists.
std::vector<std::string> split_commas(const std::string& list);

}  // namespace treesync
