// The reference `treesync stage` holds an image by instead of the operator's
// tag: treesync.invalid/<full name>/treesync-staged:<tag>. ".invalid" is
// reserved (RFC 2606) and never resolves, so nothing can pull it; its own
// domain means no user tag can be it. The last path component is never the
// image's own: podman resolves a short name (`app:1`) to any local image
// whose name ends in /app:1, so treesync.invalid/…/app:1 would run from
// `podman run app:1` (found in the lab); …/app/treesync-staged:1 does not.
// The full name (docker.io/library/app, not app) keeps two references from
// ever sharing one staged name.
#pragma once

#include <string>
#include <vector>

namespace treesync {

// "app:1" -> "treesync.invalid/docker.io/library/app/treesync-staged:1";
// "reg:5000/team/app:2" -> "treesync.invalid/reg_5000/team/app/treesync-staged:2"
// (a port's ':' is not allowed in a path; '_' is not allowed in a domain,
// so it cannot mean anything else).
std::string staged_ref(const std::string& ref);
std::vector<std::string> staged_refs(const std::vector<std::string>& refs);
// Throws UsageError for a reference whose staged name would pass Docker's
// 255-character limit on names: checked before stage or activate connects.
void check_stageable(const std::vector<std::string>& refs);

}  // namespace treesync
