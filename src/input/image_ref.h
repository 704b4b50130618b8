// Docker image references as users type them, checked against Docker's own
// grammar (distribution/reference) before anything else happens: a reference
// later becomes an argv element on every node, so nothing else gets through.
#pragma once

#include <string>

namespace treesync {

// Returns the reference in the form Docker shows in RepoTags: the default
// registry prefix removed and ":latest" added when there is no tag
// ("docker.io/library/nginx" -> "nginx:latest"). Throws UsageError with the
// reason when the text is not a taggable reference.
std::string normalize_image_ref(const std::string& text);

}  // namespace treesync
