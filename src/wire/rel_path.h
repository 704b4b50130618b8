// Paths that come over the wire for the files payload, relative to the
// destination the operator named: the relay writes only where such a path
// leads, so anything that could climb out (absolute, "..", empty or "."
// components, a NUL) is refused before it is used.
#pragma once

#include <string>
#include <vector>

namespace wire {

// Throws wire::Error naming the path and what is wrong with it.
void check_relative_path(const std::string& path);
// The components of a path check_relative_path accepted.
std::vector<std::string> path_components(const std::string& path);

}  // namespace wire
