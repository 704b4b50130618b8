// The user's home directory, found one way everywhere: $HOME, else the
// passwd entry (as OpenSSH does), else an error that says so.
#pragma once

#include <string>

namespace treesync {

std::string home_dir();  // throws UsageError if there is none
// "~/x" -> home_dir() + "/x"; anything else unchanged.
std::string expand_home(const std::string& path);

}  // namespace treesync
